//! What only the SQLite backend has to show: the file's settings, two stores on one file (as two processes
//! would), the append-only guard, reopening, and the chain checked by the Python verifier of the spec.

use std::sync::Arc;

use event_store::testing::{request_to, with_idempotency};
use event_store::verify::verify_store;
use event_store::{AppendError, EventStore, ExpectedVersion};
use event_store_sqlite::SqliteEventStore;

use crate::file::raw_connection;

#[tokio::test]
async fn the_file_is_in_wal_mode_with_the_schema() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("nested-name.db");
    let store = SqliteEventStore::open(&path).await.expect("open");
    store.append(request_to("a", ExpectedVersion::Any, 1)).await.expect("append");
    let mut connection = raw_connection(&path).await;
    let journal_mode: String =
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut connection).await.expect("pragma");
    assert_eq!(journal_mode, "wal");
    let n_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut connection).await.expect("count");
    assert_eq!(n_events, 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_share_one_gap_free_log() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("events.db");
    let stores = [
        Arc::new(SqliteEventStore::open(&path).await.expect("open")),
        Arc::new(SqliteEventStore::open(&path).await.expect("open again")),
    ];
    let mut writers = Vec::new();
    for (instance, store) in stores.iter().enumerate() {
        for writer in 0..4 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let mut n_committed = 0u64;
                for attempt in 0..25u64 {
                    let own = request_to(&format!("own-{instance}-{writer}"), ExpectedVersion::Exact(attempt), 1);
                    store.append(own).await.expect("an uncontested append");
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
    let mut n_committed = 0;
    for writer in writers {
        n_committed += writer.await.expect("writer");
    }
    assert_eq!(n_committed, 8 * 25 + 25);
    let report = verify_store(&*stores[1], 64).await.expect("the log verifies");
    assert_eq!(report.n_events, n_committed);
}

#[tokio::test]
async fn stored_events_cannot_be_updated_or_deleted() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("events.db");
    let store = SqliteEventStore::open(&path).await.expect("open");
    store.append(request_to("a", ExpectedVersion::Any, 1)).await.expect("append");
    let mut connection = raw_connection(&path).await;
    for statement in ["UPDATE events SET payload = '{}'", "DELETE FROM events"] {
        let error = sqlx::query(statement).execute(&mut connection).await.expect_err(statement);
        assert!(error.to_string().contains("events are append-only"), "{statement}: {error}");
    }
    store.close().await;
}

/// A batch is written as one query of several statements (see `append.rs`): more events than one `INSERT`
/// statement takes, then the idempotency record and the head, all bound in order.
#[tokio::test]
async fn a_batch_longer_than_one_insert_statement_is_written_whole() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("events.db");
    let store = SqliteEventStore::open(&path).await.expect("open");
    store.append(request_to("before", ExpectedVersion::NoStream, 2)).await.expect("append");
    let key = uuid::Uuid::now_v7();
    let request = with_idempotency(request_to("long", ExpectedVersion::NoStream, 450), key, "long");
    let outcome = store.append(request.clone()).await.expect("append 450 events");
    assert_eq!((outcome.first_position, outcome.last_position, outcome.subject_version), (3, 452, 450));
    assert_eq!(store.head().await.expect("head").position, 452);

    let replayed = store.append(request).await.expect("the same key answers the first outcome");
    assert!(replayed.replayed);
    assert_eq!((replayed.first_position, replayed.last_position), (3, 452));

    let mut connection = raw_connection(&path).await;
    let (n_events, max_version): (i64, i64) =
        sqlx::query_as("SELECT count(*), max(stream_version) FROM events WHERE stream_id = 'long'")
            .fetch_one(&mut connection)
            .await
            .expect("count");
    assert_eq!((n_events, max_version), (450, 450));
    let report = verify_store(&store, 100).await.expect("the log verifies");
    assert_eq!(report.n_events, 452);
    store.close().await;
}

#[tokio::test]
async fn reopening_a_file_keeps_its_log() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("events.db");
    let first = SqliteEventStore::open(&path).await.expect("open");
    first.append(request_to("a", ExpectedVersion::NoStream, 3)).await.expect("append");
    let head = first.head().await.expect("head");
    first.close().await;

    let reopened = SqliteEventStore::open(&path).await.expect("reopen");
    assert_eq!(reopened.head().await.expect("head"), head);
    let outcome = reopened.append(request_to("a", ExpectedVersion::Exact(3), 1)).await.expect("append");
    assert_eq!(outcome.first_position, 4);
    reopened.close().await;
}

#[tokio::test]
async fn a_file_in_a_missing_directory_is_an_error() {
    let directory = tempfile::tempdir().expect("tempdir");
    let error =
        SqliteEventStore::open(&directory.path().join("missing/events.db")).await.expect_err("no such directory");
    assert!(error.to_string().contains("unable to open database file"), "{error}");
}

/// The Python program of `docs/event-hash-chain.md`, run on a real file: a third party's own code verifies the
/// chain, and names the event that was changed behind the store's back.
#[tokio::test]
async fn the_python_verifier_of_the_spec_agrees() {
    let spec = include_str!("../../../../docs/event-hash-chain.md");
    let program = spec
        .split("## A verifier in Python")
        .nth(1)
        .and_then(|section| section.split("```python\n").nth(1))
        .and_then(|block| block.split("\n```").next())
        .expect("the spec has a Python verifier");

    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("events.db");
    let store = SqliteEventStore::open(&path).await.expect("open");
    for index in 0..12u64 {
        let mut request = request_to(&format!("task-{}", index % 4), ExpectedVersion::Any, 1 + (index % 2) as usize);
        request.causation_id = (index % 3 == 0).then(uuid::Uuid::now_v7);
        let event = &mut request.streams[0].events[0];
        event.effective_date = (index % 2 == 0).then_some(time::macros::date!(2024 - 04 - 15));
        event.payload = serde_json::json!({
            "summary": "Đã hỗ trợ 25/25 doanh nghiệp \"trọng tâm\"\n",
            "measures": [{"label": "nhiệm vụ", "achieved": index, "target": 14}],
            "flags": {"z": true, "a": null, "É": -3},
        });
        store.append(request).await.expect("append");
    }
    let n_events = store.head().await.expect("head").position;
    store.close().await;

    let run = |program: &str| {
        let output = std::process::Command::new("python3")
            .arg("-c")
            .arg(program)
            .arg(&path)
            .output()
            .unwrap_or_else(|error| panic!("this test runs python3 (apt-get install python3): {error}"));
        (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (stdout, stderr) = run(program);
    assert_eq!(stdout.trim(), format!("{n_events} events verified"), "python3 said: {stderr}");

    let mut connection = raw_connection(&path).await;
    sqlx::query("DROP TRIGGER events_are_append_only_update").execute(&mut connection).await.expect("drop trigger");
    sqlx::query("UPDATE events SET actor_role = 'director' WHERE global_position = 7")
        .execute(&mut connection)
        .await
        .expect("tamper");
    let (_, stderr) = run(program);
    assert!(stderr.contains("ValueError: position 7: stored hash"), "python3 said: {stderr}");
}
