//! The contract suite's fixture for PostgreSQL: a store on a database of its own.

use std::sync::Arc;

use async_trait::async_trait;
use event_store::testing::Fixture;
use event_store::EventStore;
use event_store_postgres::testing::TestDatabase;
use event_store_postgres::PostgresEventStore;

pub struct PostgresFixture {
    store: Arc<PostgresEventStore>,
    database: TestDatabase,
}

pub async fn create_fixture() -> Arc<dyn Fixture> {
    let database = TestDatabase::create().await;
    let store =
        PostgresEventStore::from_pool(database.pool(5).await).await.expect("the store opens on a fresh database");
    Arc::new(PostgresFixture { store: Arc::new(store), database })
}

#[async_trait]
impl Fixture for PostgresFixture {
    fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }

    async fn replace_in_stored_payload(&self, global_position: u64, from: &str, to: &str) {
        // The intruder owns the table, so the append-only trigger does not stop them: they switch it off.
        let mut transaction = self.store.pool().begin().await.expect("begin");
        sqlx::query("ALTER TABLE events DISABLE TRIGGER events_are_append_only")
            .execute(&mut *transaction)
            .await
            .expect("disable the trigger");
        let updated = sqlx::query("UPDATE events SET payload = replace(payload, $1, $2) WHERE global_position = $3")
            .bind(from)
            .bind(to)
            .bind(i64::try_from(global_position).expect("position fits"))
            .execute(&mut *transaction)
            .await
            .expect("update the payload");
        assert_eq!(updated.rows_affected(), 1);
        sqlx::query("ALTER TABLE events ENABLE TRIGGER events_are_append_only")
            .execute(&mut *transaction)
            .await
            .expect("enable the trigger");
        transaction.commit().await.expect("commit");
    }

    async fn run_as_intruder(&self, statements: &[String]) {
        let mut transaction = self.store.pool().begin().await.expect("begin");
        sqlx::query("ALTER TABLE events DISABLE TRIGGER USER").execute(&mut *transaction).await.expect("disable");
        for statement in statements {
            sqlx::query(statement)
                .execute(&mut *transaction)
                .await
                .unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        sqlx::query("ALTER TABLE events ENABLE TRIGGER USER").execute(&mut *transaction).await.expect("enable");
        transaction.commit().await.expect("commit");
    }

    async fn teardown(&self) {
        self.store.pool().close().await;
        self.database.drop_database().await;
    }
}
