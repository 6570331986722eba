//! A fresh SQLite event store file per test, in a temporary directory removed when the test ends.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use event_store::testing::Fixture;
use event_store::EventStore;
use event_store_sqlite::SqliteEventStore;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;

pub struct SqliteFixture {
    store: Arc<SqliteEventStore>,
    path: PathBuf,
    // Dropped with the fixture, which removes the directory and the file.
    _directory: TempDir,
}

pub async fn create_fixture() -> Arc<dyn Fixture> {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("events.db");
    let store = SqliteEventStore::open(&path).await.expect("the store opens a new file");
    Arc::new(SqliteFixture { store: Arc::new(store), path, _directory: directory })
}

/// A connection of its own to the store's file, as any process with access to the file could open.
pub async fn raw_connection(path: &std::path::Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("open the file directly")
}

#[async_trait]
impl Fixture for SqliteFixture {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }

    async fn replace_in_stored_payload(&self, global_position: u64, from: &str, to: &str) {
        // Whoever can write the file can drop the append-only trigger.
        let mut connection = raw_connection(&self.path).await;
        let mut transaction = connection.begin().await.expect("begin");
        sqlx::query("DROP TRIGGER events_are_append_only_update")
            .execute(&mut *transaction)
            .await
            .expect("drop the trigger");
        let updated = sqlx::query("UPDATE events SET payload = replace(payload, ?1, ?2) WHERE global_position = ?3")
            .bind(from)
            .bind(to)
            .bind(i64::try_from(global_position).expect("position fits"))
            .execute(&mut *transaction)
            .await
            .expect("update the payload");
        assert_eq!(updated.rows_affected(), 1);
        transaction.commit().await.expect("commit");
    }

    async fn run_as_intruder(&self, statements: &[String]) {
        let mut connection = raw_connection(&self.path).await;
        let mut transaction = connection.begin().await.expect("begin");
        for trigger in ["events_are_append_only_update", "events_are_append_only_delete"] {
            sqlx::query(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                .execute(&mut *transaction)
                .await
                .expect("drop the trigger");
        }
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut *transaction)
                .await
                .unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        transaction.commit().await.expect("commit");
    }

    async fn teardown(&self) {
        // The temporary directory goes with the fixture; nothing to release before.
    }
}
