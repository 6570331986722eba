//! What only the PostgreSQL backend has to show: several store instances (as several processes would) appending
//! to one log, the append-only guard of the table, migrations on reopening, and an unreachable server.

use std::sync::Arc;

use event_store::testing::{request_to, with_idempotency};
use event_store::verify::{verify_events, verify_store};
use event_store::{AppendError, EventStore, ExpectedVersion, StoreError};
use event_store_postgres::PostgresEventStore;
use sqlx::ConnectOptions;
use uuid::Uuid;

use event_store_postgres::testing::TestDatabase;

async fn open(database: &TestDatabase) -> Arc<PostgresEventStore> {
    Arc::new(PostgresEventStore::from_pool(database.pool(4).await).await.expect("open the store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_share_one_gap_free_log() {
    let database = TestDatabase::create().await;
    let stores = [open(&database).await, open(&database).await];
    let follower_store = open(&database).await;

    let mut writers = Vec::new();
    for (instance, store) in stores.iter().enumerate() {
        for writer in 0..6 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let mut n_committed = 0u64;
                for attempt in 0..30u64 {
                    let own = request_to(&format!("own-{instance}-{writer}"), ExpectedVersion::Exact(attempt), 1);
                    store.append(own).await.expect("an uncontested append");
                    // Both instances race for the same shared stream with `NoStream`-like stale versions.
                    match store.append(request_to("shared", ExpectedVersion::Exact(attempt), 1)).await {
                        Ok(_) => n_committed += 2,
                        Err(AppendError::WrongExpectedVersion { .. }) => n_committed += 1,
                        Err(error) => panic!("append failed: {error}"),
                    }
                }
                n_committed
            }));
        }
    }
    let follower = tokio::spawn(async move {
        let (mut last_position, mut n_seen) = (0u64, 0u64);
        while n_seen < 360 {
            for event in follower_store.read_all(last_position, 50).await.expect("read_all") {
                assert_eq!(event.global_position, last_position + 1, "the follower saw a gap");
                last_position = event.global_position;
                n_seen += 1;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        last_position
    });
    let mut n_committed = 0;
    for writer in writers {
        n_committed += writer.await.expect("writer");
    }
    assert_eq!(n_committed, 12 * 30 + 30, "12 × 30 own events and exactly 30 shared ones");
    let follower_position = follower.await.expect("follower");
    assert!(follower_position >= 360);

    let report = verify_store(&*stores[0], 100).await.expect("the log verifies");
    assert_eq!(report.n_events, n_committed);
    drop(stores);
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_through_two_stores_append_once() {
    let database = TestDatabase::create().await;
    let stores = [open(&database).await, open(&database).await];
    let request = with_idempotency(request_to("a", ExpectedVersion::Any, 2), Uuid::now_v7(), "fingerprint");
    let retries: Vec<_> = (0..16)
        .map(|index| {
            let (store, request) = (stores[index % 2].clone(), request.clone());
            tokio::spawn(async move { store.append(request).await.expect("every retry succeeds") })
        })
        .collect();
    let mut n_originals = 0;
    for retry in retries {
        n_originals += usize::from(!retry.await.expect("retry").replayed);
    }
    assert_eq!(n_originals, 1);
    verify_events(stores[1].read_all(0, 100).await.expect("read")).expect("the log verifies");
    assert_eq!(stores[1].head().await.expect("head").position, 2);
    database.drop_database().await;
}

#[tokio::test]
async fn stored_events_cannot_be_updated_or_deleted() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    store.append(request_to("a", ExpectedVersion::Any, 1)).await.expect("append");
    for statement in ["UPDATE events SET payload = '{}'", "DELETE FROM events", "TRUNCATE events"] {
        let error = sqlx::query(statement).execute(store.pool()).await.expect_err(statement);
        assert!(error.to_string().contains("events are append-only"), "{statement}: {error}");
    }
    database.drop_database().await;
}

#[tokio::test]
async fn reopening_a_database_keeps_its_log() {
    let database = TestDatabase::create().await;
    let first = PostgresEventStore::from_pool(database.pool(2).await).await.expect("open");
    first.append(request_to("a", ExpectedVersion::NoStream, 3)).await.expect("append");
    let head = first.head().await.expect("head");
    first.close().await;

    let reopened = PostgresEventStore::from_pool(database.pool(2).await).await.expect("reopen");
    assert_eq!(reopened.head().await.expect("head"), head);
    let outcome = reopened.append(request_to("a", ExpectedVersion::Exact(3), 1)).await.expect("append");
    assert_eq!(outcome.first_position, 4);
    reopened.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn connect_by_url_opens_a_ready_store() {
    let database = TestDatabase::create().await;
    let url = database.options.to_url_lossy().to_string();
    let store = PostgresEventStore::connect(&url).await.expect("connect");
    store.ping().await.expect("ping");
    assert_eq!(store.head().await.expect("head").position, 0);
    store.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn an_unreachable_server_is_reported_as_unavailable() {
    let error =
        PostgresEventStore::connect("postgres://postgres@127.0.0.1:9/none").await.expect_err("nothing listens there");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}
