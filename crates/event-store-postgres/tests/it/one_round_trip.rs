//! The one-round-trip append path (`append.rs`, `0003_append_function.sql`): taken in the common case, and each
//! assumption that no longer holds sending the batch to the exact transaction, whose answer is the one a store
//! without the fast path would give.

use event_store::testing::{request_to, with_idempotency};
use event_store::verify::verify_store;
use event_store::{AppendError, EventStore, ExpectedVersion};
use event_store_postgres::testing::TestDatabase;
use event_store_postgres::{AppendPathCounts, PostgresEventStore};
use sqlx::Row;
use uuid::Uuid;

async fn open(database: &TestDatabase) -> PostgresEventStore {
    PostgresEventStore::from_pool(database.pool(2).await).await.expect("open the store")
}

#[tokio::test]
async fn appends_after_the_first_take_one_round_trip() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    store.append(request_to("a", ExpectedVersion::NoStream, 2)).await.expect("first append");
    for version in 2..12 {
        store.append(request_to("a", ExpectedVersion::Exact(version), 1)).await.expect("append");
    }
    store.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("a new stream");

    assert_eq!(
        store.append_path_counts(),
        AppendPathCounts { one_round_trip: 11, exact: 1, ..AppendPathCounts::default() },
        "only the first batch, when nothing is known, reads the store"
    );
    let report = verify_store(&store, 100).await.expect("the log verifies");
    assert_eq!(report.n_events, 13);
    store.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn another_process_appending_meanwhile_sends_the_batch_to_the_exact_path() {
    let database = TestDatabase::create().await;
    let (first, second) = (open(&database).await, open(&database).await);
    first.append(request_to("a", ExpectedVersion::NoStream, 1)).await.expect("append");
    first.append(request_to("a", ExpectedVersion::Exact(1), 1)).await.expect("append");
    second.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("the other process appends");

    let outcome = first.append(request_to("a", ExpectedVersion::Exact(2), 1)).await.expect("append");
    assert_eq!((outcome.first_position, outcome.subject_version), (4, 3));
    let counts = first.append_path_counts();
    assert_eq!((counts.one_round_trip, counts.refused_head_moved, counts.exact), (1, 1, 2), "{counts:?}");

    // The exact batch taught the writer the new head: the one after it goes through in one round trip again
    // (after the one batch that a moved head sends straight to the exact path).
    first.append(request_to("a", ExpectedVersion::Exact(3), 1)).await.expect("append");
    first.append(request_to("a", ExpectedVersion::Exact(4), 1)).await.expect("append");
    assert_eq!(first.append_path_counts().one_round_trip, 2);

    let report = verify_store(&second, 100).await.expect("the log verifies");
    assert_eq!(report.n_events, 6);
    first.close().await;
    second.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn a_replayed_idempotency_key_is_answered_by_the_exact_path() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let key = Uuid::now_v7();
    // `Any`, so that the retry passes the plan made in memory and reaches the function's check of the key.
    let request = with_idempotency(request_to("a", ExpectedVersion::Any, 2), key, "fingerprint");
    let original = store.append(request.clone()).await.expect("append");
    store.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("append");

    let replay = store.append(request).await.expect("the retry answers the first outcome");
    assert!(replay.replayed);
    assert_eq!((replay.first_position, replay.last_position), (original.first_position, original.last_position));

    let other_body = with_idempotency(request_to("a", ExpectedVersion::Exact(2), 1), key, "another fingerprint");
    assert_eq!(store.append(other_body).await, Err(AppendError::IdempotencyKeyReused { key }));

    let counts = store.append_path_counts();
    assert_eq!((counts.one_round_trip, counts.refused_idempotency_key), (1, 2), "{counts:?}");
    assert_eq!(store.head().await.expect("head").position, 3, "nothing was appended twice");
    store.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn an_existing_event_id_is_refused_by_the_exact_path() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let stored = request_to("a", ExpectedVersion::NoStream, 1);
    let event_id = stored.streams[0].events[0].event_id;
    store.append(stored).await.expect("append");
    store.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("append");

    let mut reused = request_to("c", ExpectedVersion::NoStream, 1);
    reused.streams[0].events[0].event_id = event_id;
    assert_eq!(store.append(reused).await, Err(AppendError::DuplicateEventId { event_id }));

    let counts = store.append_path_counts();
    assert_eq!((counts.one_round_trip, counts.refused_event_id), (1, 1), "{counts:?}");
    assert_eq!(store.head().await.expect("head").position, 2);
    store.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn a_stale_stream_version_is_refused_by_the_exact_path() {
    let database = TestDatabase::create().await;
    let (writer, latecomer) = (open(&database).await, open(&database).await);
    writer.append(request_to("a", ExpectedVersion::NoStream, 3)).await.expect("append");
    // The latecomer learns the head, but not stream `a`: its version is assumed from the request.
    latecomer.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("append");

    let stale = latecomer.append(request_to("a", ExpectedVersion::Exact(2), 1)).await;
    assert_eq!(
        stale,
        Err(AppendError::WrongExpectedVersion {
            stream_id: event_store::StreamId("a".to_owned()),
            expected: ExpectedVersion::Exact(2),
            actual: 3
        })
    );
    let counts = latecomer.append_path_counts();
    assert_eq!((counts.one_round_trip, counts.refused_stream_version, counts.exact), (0, 1, 2), "{counts:?}");

    let outcome = latecomer.append(request_to("a", ExpectedVersion::Exact(3), 1)).await.expect("append");
    assert_eq!((outcome.first_position, outcome.subject_version), (5, 4));
    // A conflict that the remembered versions already show is still decided on the stored state.
    let conflict = latecomer.append(request_to("a", ExpectedVersion::NoStream, 1)).await;
    assert!(matches!(conflict, Err(AppendError::WrongExpectedVersion { actual: 4, .. })), "{conflict:?}");
    let counts = latecomer.append_path_counts();
    assert_eq!((counts.one_round_trip, counts.exact), (1, 3), "{counts:?}");

    verify_store(&writer, 100).await.expect("the log verifies");
    writer.close().await;
    latecomer.close().await;
    database.drop_database().await;
}

/// Calls `append_batch_if_unchanged` on an empty log with one event recorded at `recorded_at` (an SQL
/// expression), as the store would, and answers its verdict.
async fn append_one_event_if_unchanged(executor: &mut sqlx::PgConnection, recorded_at: &str) -> String {
    let genesis = "0".repeat(64);
    let hash = "a".repeat(64);
    let statement = format!(
        "SELECT append_batch_if_unchanged(0, $1, ARRAY['s'], ARRAY[0::bigint], ARRAY[]::uuid[], ARRAY[$3::uuid], \
             {recorded_at}, interval '100 milliseconds', 1, $2, \
             ARRAY[1::bigint], ARRAY[$3::uuid], ARRAY['s'], ARRAY[1::bigint], ARRAY['Noted'], ARRAY[1::bigint], \
             ARRAY[NULL::date], ARRAY[{recorded_at}], ARRAY['u'], ARRAY['n'], ARRAY['SKHCN'], ARRAY['staff'], \
             ARRAY[$4::uuid], ARRAY[$4::uuid], ARRAY[NULL::uuid], ARRAY['{{}}'], ARRAY[$1], ARRAY[$2], \
             ARRAY[]::uuid[], ARRAY[]::text[], ARRAY[]::text[])"
    );
    let row = sqlx::query(&statement)
        .bind(genesis)
        .bind(hash)
        .bind(Uuid::now_v7())
        .bind(Uuid::now_v7())
        .fetch_one(executor)
        .await
        .expect("the function answers");
    row.get(0)
}

#[tokio::test]
async fn the_function_refuses_a_recorded_at_far_from_the_store_clock_and_a_snapshot_older_than_the_lock() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let mut connection = store.pool().acquire().await.expect("connection");

    for far_from_the_clock in ["clock_timestamp() + interval '1 second'", "clock_timestamp() - interval '1 second'"] {
        assert_eq!(append_one_event_if_unchanged(&mut connection, far_from_the_clock).await, "recorded_at");
    }
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ").execute(&mut *connection).await.expect("begin");
    assert_eq!(append_one_event_if_unchanged(&mut connection, "clock_timestamp()").await, "isolation");
    sqlx::query("ROLLBACK").execute(&mut *connection).await.expect("rollback");
    let n_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut *connection).await.expect("count");
    assert_eq!(n_events, 0, "a refusal writes nothing");

    assert_eq!(append_one_event_if_unchanged(&mut connection, "clock_timestamp()").await, "appended");
    let head = sqlx::query("SELECT position FROM log_head").fetch_one(&mut *connection).await.expect("head");
    assert_eq!(head.get::<i64, _>(0), 1);
    assert_eq!(append_one_event_if_unchanged(&mut connection, "clock_timestamp()").await, "head_moved");
    drop(connection);
    store.close().await;
    database.drop_database().await;
}

/// The writer's lookups probe the unique indexes even when the plan cached for its connection was made while the
/// tables were analysed empty: appends to a store whose `idempotency_keys` was analysed empty and then grew read
/// none of its rows sequentially.
#[tokio::test]
async fn lookups_probe_the_indexes_of_tables_analysed_empty() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let pool = store.pool().clone();
    sqlx::raw_sql("VACUUM (ANALYZE) idempotency_keys, events").execute(&pool).await.expect("analyse the empty tables");
    let keyed = |version| with_idempotency(request_to("a", version, 1), Uuid::now_v7(), "fingerprint");
    store.append(keyed(ExpectedVersion::NoStream)).await.expect("first append");
    // More than five executions: PL/pgSQL and sqlx then keep a generic plan for the connection.
    for version in 1..10 {
        store.append(keyed(ExpectedVersion::Exact(version))).await.expect("append");
    }
    sqlx::query(
        "INSERT INTO idempotency_keys (key, fingerprint, outcome) \
         SELECT gen_random_uuid(), 'loaded', '{}' FROM generate_series(1, 20000)",
    )
    .execute(&pool)
    .await
    .expect("load idempotency keys");

    let (seq_tup_read, idx_scan) = loop_until_flushed(&store, &pool).await;
    assert!(idx_scan > 0, "the writer's statistics were reported");
    assert_eq!(seq_tup_read, 0, "an append read idempotency_keys sequentially");
    store.close().await;
    database.drop_database().await;
}

/// Appends until the writer's backend has reported its table statistics (at most once a second, when it goes idle)
/// and answers `idempotency_keys`'s sequentially read rows and index scans.
async fn loop_until_flushed(store: &PostgresEventStore, pool: &sqlx::PgPool) -> (i64, i64) {
    for version in 10..20 {
        let request = with_idempotency(request_to("a", ExpectedVersion::Exact(version), 1), Uuid::now_v7(), "f");
        store.append(request).await.expect("append");
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        sqlx::query("SELECT pg_stat_clear_snapshot()").execute(pool).await.expect("clear the snapshot");
        let row = sqlx::query(
            "SELECT coalesce(seq_tup_read, 0), coalesce(idx_scan, 0) FROM pg_stat_user_tables \
             WHERE relname = 'idempotency_keys'",
        )
        .fetch_one(pool)
        .await
        .expect("read the table statistics");
        let (seq_tup_read, idx_scan): (i64, i64) = (row.get(0), row.get(1));
        if idx_scan >= 12 || seq_tup_read > 0 {
            return (seq_tup_read, idx_scan);
        }
    }
    panic!("the writer's statistics were never reported");
}
