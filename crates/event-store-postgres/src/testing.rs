//! Test support (cargo feature `testing`): a fresh PostgreSQL database per test, created on the server named by
//! `TASKLEDGER_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the
//! test ends. Used by this crate's tests and by the tests of the crates above it.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own on the test server. Call [`TestDatabase::drop_database`] at the end.
pub struct TestDatabase {
    pub name: String,
    /// Options that connect to this database.
    pub options: PgConnectOptions,
    /// A URL that connects to this database, for a process of its own (`taskledger serve --database-url`).
    pub url: String,
    admin: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let server_url =
            std::env::var("TASKLEDGER_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_owned());
        let server_options = PgConnectOptions::from_str(&server_url).unwrap_or_else(|error| {
            panic!("TASKLEDGER_TEST_DATABASE_URL={server_url} is not a PostgreSQL URL: {error}")
        });
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(server_options.clone())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {server_url}: {error}\n\
                     These tests need a running server. Start the local one with\n\
                     \x20   pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
                     or point TASKLEDGER_TEST_DATABASE_URL at another (trust or password in the URL)."
                )
            });
        let name = format!("tl_test_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap_or_else(|error| panic!("cannot create the test database {name} on {server_url}: {error}"));
        TestDatabase { options: server_options.database(&name), url: database_url(&server_url, &name), name, admin }
    }

    pub async fn pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options.clone())
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the test database {}: {error}", self.name))
    }

    /// Best effort: a database left behind by a killed test run is harmless and has a recognisable name.
    pub async fn drop_database(&self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = sqlx::query(&statement).execute(&self.admin).await {
            eprintln!("could not drop the test database {}: {error}", self.name);
        }
        self.admin.close().await;
    }
}

/// A store on a fresh database, with the database to drop at the end.
pub async fn fresh_store() -> (crate::PostgresEventStore, TestDatabase) {
    let database = TestDatabase::create().await;
    let store = crate::PostgresEventStore::from_pool(database.pool(5).await)
        .await
        .expect("the store opens on a fresh database");
    (store, database)
}

/// The server URL with its database path replaced by `name` (query parameters kept).
fn database_url(server_url: &str, name: &str) -> String {
    let (base, query) = server_url.split_once('?').map_or((server_url, None), |(base, query)| (base, Some(query)));
    let authority_end = base.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let path_start = base[authority_end..].find('/').map_or(base.len(), |offset| authority_end + offset);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The writer's one-round-trip append statement, for tests that run it by hand.
pub const APPEND_IF_UNCHANGED: &str = crate::append::APPEND_IF_UNCHANGED;

/// Binds `event` (its payload as `canonical_payload`) and no idempotency record as the next two parameters of
/// `query`: the last two of [`APPEND_IF_UNCHANGED`], as the writer binds a plan's rows.
pub fn bind_one_event<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    event: &'q event_store::RecordedEvent<()>,
    canonical_payload: &'q str,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let rows = crate::append::PlanRows {
        events: vec![crate::append::EventRow::of(event, canonical_payload)],
        idempotency_records: Vec::new(),
    };
    rows.bind_to(query)
}
