//! Deliveries as a bus makes them: out of order, duplicated, with gaps. `Projector::apply` skips what is at or
//! below the checkpoint and fills gaps from the store, so whatever arrives, the checkpoint is the highest position
//! delivered and the rows are those of a plain catch-up of the same store.

use std::sync::atomic::{AtomicUsize, Ordering};

use event_store::RecordedEvent;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::{assert_same_models, service, snapshot_active, varied_history, Snapshot, TestStores};

/// Applies each delivery (global positions, 1-based) to every projector and checks the checkpoint after it.
async fn deliver(
    service: &projection::ProjectionService,
    events: &[RecordedEvent],
    deliveries: &[Vec<u64>],
    context: &str,
) {
    for projector in service.projectors.iter() {
        let mut expected_checkpoint = 0;
        for delivery in deliveries {
            let batch: Vec<RecordedEvent> =
                delivery.iter().map(|position| events[*position as usize - 1].clone()).collect();
            projector.apply(batch).await.unwrap_or_else(|error| panic!("{context}: apply {delivery:?}: {error}"));
            expected_checkpoint = delivery.iter().copied().fold(expected_checkpoint, u64::max);
            assert_eq!(
                projector.stored_checkpoint().await.unwrap(),
                expected_checkpoint,
                "{context}: model {} after delivering {delivery:?}",
                projector.name()
            );
        }
    }
}

/// A store with a varied history, and the read models a plain catch-up makes of it.
async fn store_and_reference() -> (TestStores, Vec<RecordedEvent>, Snapshot) {
    let stores = TestStores::sqlite().await;
    varied_history(&stores.ledger()).await;
    let events = stores.store.read_all(0, 10_000).await.unwrap();
    let reference = stores.sqlite_read_db("reference").await;
    service(&reference, &stores.store, 1_000).await.catch_up().await.unwrap();
    let expected = snapshot_active(&reference).await;
    (stores, events, expected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_duplicated_and_gapped_deliveries_end_like_a_catch_up() {
    let (stores, events, expected) = store_and_reference().await;
    let head = events.len() as u64;
    assert!(head > 20, "the history is long enough for gaps: {head} events");
    let deliveries: Vec<Vec<u64>> = vec![
        vec![5, 3, 3, 9],
        vec![9],
        vec![2, 1],
        vec![12, 10, 10, 11],
        vec![],
        vec![head - 1, head - 3],
        vec![head, head, 1],
        vec![head],
    ];
    for batch_size in [1, 2, 1_000] {
        let db = stores.sqlite_read_db(&format!("delivered-{batch_size}")).await;
        let service = service(&db, &stores.store, batch_size).await;
        let context = format!("batch size {batch_size}");
        deliver(&service, &events, &deliveries, &context).await;
        assert_same_models(&snapshot_active(&db).await, &expected, &context);
    }
}

#[test]
fn any_delivery_order_ends_like_a_catch_up() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (stores, events, expected) = runtime.block_on(store_and_reference());
    let head = events.len() as u64;
    let n_cases = AtomicUsize::new(0);
    let deliveries = prop::collection::vec(prop::collection::vec(1..=head, 0..6), 1..10);
    let mut runner = TestRunner::new(Config { cases: 16, failure_persistence: None, ..Config::default() });
    runner
        .run(&(1usize..6, deliveries), |(batch_size, mut deliveries)| {
            // The last event arrives at some point, as a bus eventually delivers it.
            deliveries.push(vec![head]);
            let case = n_cases.fetch_add(1, Ordering::Relaxed);
            runtime.block_on(async {
                let db = stores.sqlite_read_db(&format!("case-{case}")).await;
                let service = service(&db, &stores.store, batch_size).await;
                let context = format!("batch size {batch_size}, deliveries {deliveries:?}");
                deliver(&service, &events, &deliveries, &context).await;
                assert_same_models(&snapshot_active(&db).await, &expected, &context);
            });
            Ok(())
        })
        .unwrap();
}

/// A transaction that applies events commits without waiting for the disk on PostgreSQL (its rows and checkpoint
/// are lost together or kept together); other write transactions wait as before.
#[tokio::test]
async fn applying_events_commits_without_waiting_for_the_disk_on_postgres() {
    let stores = crate::support::TestStores::postgres().await;
    let db = stores.postgres_read_db().await;
    let setting = |mut transaction: sqlx::Transaction<'static, sqlx::Any>| async move {
        let row = sqlx::query("SELECT current_setting('synchronous_commit')")
            .fetch_one(&mut *transaction)
            .await
            .expect("read the setting");
        transaction.rollback().await.expect("roll back");
        sqlx::Row::try_get::<String, _>(&row, 0).expect("text")
    };
    assert_eq!(setting(db.begin_apply().await.expect("begin")).await, "off");
    assert_eq!(setting(db.begin_write().await.expect("begin")).await, "on");
    stores.teardown().await;
}
