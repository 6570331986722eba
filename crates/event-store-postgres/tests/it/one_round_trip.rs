//! The one-round-trip append path (`append.rs`, `0003_append_function.sql`): taken in the common case, and each
//! assumption that no longer holds sending the batch to the exact transaction, whose answer is the one a store
//! without the fast path would give.

use event_store::testing::{request_to, with_idempotency};
use event_store::verify::verify_store;
use event_store::{Actor, AppendError, EventStore, ExpectedVersion, RecordedEvent, StreamId};
use event_store_postgres::testing::{self, TestDatabase};
use event_store_postgres::{AppendPathCounts, PostgresEventStore};
use sqlx::Row;
use time::OffsetDateTime;
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

/// Runs the writer's one-round-trip statement on an empty log with one event recorded at `recorded_at`, as the
/// store would, and answers its verdict.
async fn append_one_event_if_unchanged(executor: &mut sqlx::PgConnection, recorded_at: OffsetDateTime) -> String {
    let genesis = "0".repeat(64);
    let hash = "a".repeat(64);
    let command_id = Uuid::now_v7();
    let event = RecordedEvent {
        global_position: 1,
        event_id: Uuid::now_v7(),
        stream_id: StreamId("s".to_owned()),
        stream_version: 1,
        event_type: "Noted".to_owned(),
        schema_version: 1,
        effective_date: None,
        recorded_at,
        actor: Actor { id: "u".to_owned(), name: "n".to_owned(), unit: "SKHCN".to_owned(), role: "staff".to_owned() },
        command_id,
        correlation_id: command_id,
        causation_id: None,
        payload: (),
        prev_hash: genesis.clone(),
        hash: hash.clone(),
    };
    let query = sqlx::query(testing::APPEND_IF_UNCHANGED)
        .bind(0_i64)
        .bind(&genesis)
        .bind(["s"])
        .bind([0_i64])
        .bind(recorded_at)
        .bind(std::time::Duration::from_millis(100))
        .bind(1_i64)
        .bind(&hash);
    let row = testing::bind_one_event(query, &event, "{}").fetch_one(executor).await.expect("the statement answers");
    row.get(0)
}

#[tokio::test]
async fn the_statement_refuses_a_recorded_at_far_from_the_store_clock_and_a_snapshot_older_than_the_lock() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let mut connection = store.pool().acquire().await.expect("connection");

    for far_from_the_clock in [time::Duration::seconds(1), time::Duration::seconds(-1)] {
        let recorded_at = OffsetDateTime::now_utc() + far_from_the_clock;
        assert_eq!(append_one_event_if_unchanged(&mut connection, recorded_at).await, "recorded_at");
    }
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ").execute(&mut *connection).await.expect("begin");
    assert_eq!(append_one_event_if_unchanged(&mut connection, OffsetDateTime::now_utc()).await, "isolation");
    sqlx::query("ROLLBACK").execute(&mut *connection).await.expect("rollback");
    let n_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut *connection).await.expect("count");
    assert_eq!(n_events, 0, "a refusal writes nothing");

    assert_eq!(append_one_event_if_unchanged(&mut connection, OffsetDateTime::now_utc()).await, "appended");
    let head = sqlx::query("SELECT position FROM log_head").fetch_one(&mut *connection).await.expect("head");
    assert_eq!(head.get::<i64, _>(0), 1);
    assert_eq!(append_one_event_if_unchanged(&mut connection, OffsetDateTime::now_utc()).await, "head_moved");
    drop(connection);
    store.close().await;
    database.drop_database().await;
}

/// The writer never reads a table sequentially, even when the plans cached for its connection were made while the
/// tables were analysed empty: appends to a store whose `idempotency_keys` and `events` were analysed empty and
/// then grew read none of their rows sequentially.
#[tokio::test]
async fn lookups_probe_the_indexes_of_tables_analysed_empty() {
    let database = TestDatabase::create().await;
    let store = open(&database).await;
    let pool = store.pool().clone();
    sqlx::raw_sql("VACUUM (ANALYZE) idempotency_keys, events").execute(&pool).await.expect("analyse the empty tables");
    let keyed = |version| with_idempotency(request_to("a", version, 1), Uuid::now_v7(), "fingerprint");
    store.append(keyed(ExpectedVersion::NoStream)).await.expect("first append");
    // More than five executions: sqlx then keeps a generic plan for the connection.
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

    let seq_tup_read = loop_until_flushed(&store, &pool).await;
    assert_eq!(seq_tup_read, 0, "an append read idempotency_keys or events sequentially");
    store.close().await;
    database.drop_database().await;
}

/// Appends (each with a new stream, looked up by the statement) until the writer's backend has reported its table
/// statistics (at most once a second, when it goes idle), and answers the rows read sequentially from
/// `idempotency_keys` and `events`.
async fn loop_until_flushed(store: &PostgresEventStore, pool: &sqlx::PgPool) -> i64 {
    for round in 0..10 {
        let request = request_to(&format!("new-{round}"), ExpectedVersion::NoStream, 1);
        store.append(with_idempotency(request, Uuid::now_v7(), "f")).await.expect("append");
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        sqlx::query("SELECT pg_stat_clear_snapshot()").execute(pool).await.expect("clear the snapshot");
        let row = sqlx::query(
            "SELECT sum(coalesce(seq_tup_read, 0))::bigint, \
                    sum(n_tup_ins) FILTER (WHERE relname = 'events')::bigint \
             FROM pg_stat_user_tables WHERE relname IN ('idempotency_keys', 'events')",
        )
        .fetch_one(pool)
        .await
        .expect("read the table statistics");
        let (seq_tup_read, events_inserted): (i64, i64) = (row.get(0), row.get(1));
        if events_inserted >= 11 || seq_tup_read > 0 {
            return seq_tup_read;
        }
    }
    panic!("the writer's statistics were never reported");
}

/// A writer that remembers stream `a` at version 1 while another process appended to it, and that then learnt the
/// new head from a batch on another stream: its memory of `a` is stale but its head is not.
async fn writer_with_a_stale_memory_of_a(database: &TestDatabase) -> (PostgresEventStore, PostgresEventStore) {
    let (stale, other) = (open(database).await, open(database).await);
    stale.append(request_to("a", ExpectedVersion::NoStream, 1)).await.expect("append");
    other.append(request_to("a", ExpectedVersion::Exact(1), 1)).await.expect("the other process appends to a");
    stale.append(request_to("b", ExpectedVersion::NoStream, 1)).await.expect("append; the head is learnt again");
    stale.append(request_to("b", ExpectedVersion::Exact(1), 1)).await.expect("append");
    (stale, other)
}

#[tokio::test]
async fn a_stale_remembered_version_collides_with_the_stored_event_and_takes_the_exact_path() {
    let database = TestDatabase::create().await;
    let (stale, other) = writer_with_a_stale_memory_of_a(&database).await;
    let before = stale.append_path_counts();

    let conflict = stale.append(request_to("a", ExpectedVersion::Exact(1), 1)).await;
    assert_eq!(
        conflict,
        Err(AppendError::WrongExpectedVersion {
            stream_id: event_store::StreamId("a".to_owned()),
            expected: ExpectedVersion::Exact(1),
            actual: 2
        })
    );
    // With no expectation, the collision sends the batch to the exact path, which appends at the true version.
    let outcome = stale.append(request_to("a", ExpectedVersion::Any, 1)).await.expect("append");
    assert_eq!(outcome.subject_version, 3);

    let counts = stale.append_path_counts();
    assert_eq!(counts.refused_stream_version - before.refused_stream_version, 1, "{counts:?}");
    let versions: Vec<i64> = sqlx::query("SELECT stream_version FROM events WHERE stream_id = 'a' ORDER BY 1")
        .fetch_all(&database.pool(1).await)
        .await
        .expect("read a")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3], "no version is written twice or skipped");
    verify_store(&other, 100).await.expect("the log verifies");
    stale.close().await;
    other.close().await;
    database.drop_database().await;
}

#[tokio::test]
async fn an_expectation_without_events_is_looked_up_even_when_remembered() {
    let database = TestDatabase::create().await;
    let (stale, other) = writer_with_a_stale_memory_of_a(&database).await;
    let before = stale.append_path_counts();

    // Appends to c only if a is still at version 1, as a task command guarded by its plan's version does.
    let mut guarded = request_to("c", ExpectedVersion::NoStream, 1);
    guarded.streams.push(event_store::StreamAppend {
        stream_id: event_store::StreamId("a".to_owned()),
        expected_version: ExpectedVersion::Exact(1),
        events: Vec::new(),
    });
    let refused = stale.append(guarded).await;
    assert!(matches!(refused, Err(AppendError::WrongExpectedVersion { actual: 2, .. })), "{refused:?}");

    let counts = stale.append_path_counts();
    assert_eq!(counts.refused_stream_version - before.refused_stream_version, 1, "{counts:?}");
    assert_eq!(stale.head().await.expect("head").position, 4, "nothing was appended");
    stale.close().await;
    other.close().await;
    database.drop_database().await;
}
