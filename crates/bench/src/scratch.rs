//! A throw-away database per backend, so that a benchmark starts from an empty log and leaves nothing behind:
//! on PostgreSQL a database `tl_bench_<uuid>` created on the server and dropped `WITH (FORCE)` at the end, on
//! SQLite a file in a temporary directory. The store is opened exactly as `taskledger serve` opens it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use event_store::group_commit::WriterStats;
use event_store::EventStore;
use event_store_postgres::PostgresEventStore;
use event_store_sqlite::SqliteEventStore;
use sqlx::{ConnectOptions, Connection, PgConnection};
use uuid::Uuid;

use crate::append::Backend;

/// A scratch database. Call [`Scratch::destroy`] at the end, whatever happened.
pub(crate) enum Scratch {
    Postgres {
        /// The server URL it was created on (and is dropped through).
        server_url: String,
        name: String,
        /// The server URL with the scratch database as its path.
        url: String,
    },
    Sqlite {
        dir: tempfile::TempDir,
    },
}

/// The store opened on a scratch database, kept concrete so that it can be closed properly.
pub(crate) enum OpenStore {
    Postgres(Arc<PostgresEventStore>),
    Sqlite(Arc<SqliteEventStore>),
}

impl Scratch {
    /// Writes every dirty page out before a measured run, so that no run pays for the pages an earlier run dirtied,
    /// nor starts a checkpoint of its own for them: PostgreSQL `CHECKPOINT` (as pgbench does before its runs);
    /// SQLite `wal_checkpoint(TRUNCATE)`, which also empties the write-ahead log an earlier run left behind.
    pub(crate) async fn settle(&self) -> anyhow::Result<()> {
        match self {
            Scratch::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url).await?;
                sqlx::query("CHECKPOINT").execute(&mut connection).await.context("CHECKPOINT before a run")?;
                connection.close().await?;
            }
            Scratch::Sqlite { .. } => {
                let mut connection = crate::raw_insert::sqlite_options(self).connect().await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut connection)
                    .await
                    .context("WAL checkpoint before a run")?;
                connection.close().await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn create(backend: Backend, server_url: &str) -> anyhow::Result<Scratch> {
        match backend {
            Backend::Postgres => {
                let mut admin = PgConnection::connect(server_url)
                    .await
                    .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(server_url)))?;
                let name = format!("tl_bench_{}", Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .with_context(|| format!("cannot create the scratch database {name}"))?;
                let _ = admin.close().await;
                let url = with_database(server_url, &name);
                Ok(Scratch::Postgres { server_url: server_url.to_owned(), name, url })
            }
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("tl_bench_")
                    .tempdir()
                    .context("cannot create a temporary directory for the SQLite file")?;
                Ok(Scratch::Sqlite { dir })
            }
        }
    }

    /// Where the data is, for the printed report (no credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            Scratch::Postgres { name, url, .. } => format!("database {name} on {}", redact(url)),
            Scratch::Sqlite { .. } => format!("file {}", self.sqlite_path().display()),
        }
    }

    /// The SQLite file (the path `taskledger serve` would use in this data dir).
    pub(crate) fn sqlite_path(&self) -> PathBuf {
        match self {
            Scratch::Sqlite { dir } => dir.path().join("taskledger.db"),
            Scratch::Postgres { .. } => PathBuf::from("(postgresql)"),
        }
    }

    pub(crate) async fn open_store(&self) -> anyhow::Result<OpenStore> {
        match self {
            Scratch::Postgres { url, .. } => {
                let store = PostgresEventStore::connect(url).await.context("cannot open the PostgreSQL store")?;
                Ok(OpenStore::Postgres(Arc::new(store)))
            }
            Scratch::Sqlite { .. } => {
                let store =
                    SqliteEventStore::open(&self.sqlite_path()).await.context("cannot open the SQLite store")?;
                Ok(OpenStore::Sqlite(Arc::new(store)))
            }
        }
    }

    /// Drops the PostgreSQL database (closing whatever is still connected to it) or removes the SQLite file.
    /// Failures are printed, not returned: the benchmark's own result matters more.
    /// Removes the scratch database, unless `TASKLEDGER_BENCH_KEEP` is set (to inspect it afterwards: its name
    /// is printed, and dropping it is then the operator's business).
    pub(crate) async fn destroy(self) {
        if std::env::var_os("TASKLEDGER_BENCH_KEEP").is_some() {
            eprintln!("TASKLEDGER_BENCH_KEEP is set: {} is kept", self.describe());
            if let Scratch::Sqlite { dir } = self {
                let _ = dir.keep();
            }
            return;
        }
        match self {
            Scratch::Postgres { server_url, name, .. } => {
                let dropped = async {
                    let mut admin = PgConnection::connect(&server_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
                    admin.close().await
                };
                if let Err(error) = dropped.await {
                    eprintln!("could not drop the scratch database {name}: {error}; drop it by hand");
                }
            }
            Scratch::Sqlite { dir } => {
                let path = dir.path().to_owned();
                if let Err(error) = dir.close() {
                    eprintln!("could not remove {}: {error}", path.display());
                }
            }
        }
    }
}

impl OpenStore {
    pub(crate) fn as_dyn(&self) -> Arc<dyn EventStore> {
        match self {
            OpenStore::Postgres(store) => store.clone(),
            OpenStore::Sqlite(store) => store.clone(),
        }
    }

    /// What the store's writer has done so far.
    pub(crate) fn writer_stats(&self) -> WriterStats {
        match self {
            OpenStore::Postgres(store) => store.writer_stats(),
            OpenStore::Sqlite(store) => store.writer_stats(),
        }
    }

    /// How the PostgreSQL store appended its batches so far, one line for the report; `None` for SQLite.
    pub(crate) fn append_paths(&self) -> Option<String> {
        let OpenStore::Postgres(store) = self else { return None };
        let counts = store.append_path_counts();
        Some(format!(
            "{} in one round trip, {} exact (one-round-trip refusals: head moved {}, stream version {}, idempotency \
             key {}, event id {}, recorded_at {}, isolation {})",
            counts.one_round_trip,
            counts.exact,
            counts.refused_head_moved,
            counts.refused_stream_version,
            counts.refused_idempotency_key,
            counts.refused_event_id,
            counts.refused_recorded_at,
            counts.refused_isolation
        ))
    }

    /// Closes the store once every other handle on it is gone; otherwise dropping it is all that can be done.
    pub(crate) async fn close(self) {
        match self {
            OpenStore::Postgres(store) => {
                if let Ok(store) = Arc::try_unwrap(store) {
                    store.close().await;
                }
            }
            OpenStore::Sqlite(store) => {
                if let Ok(store) = Arc::try_unwrap(store) {
                    store.close().await;
                }
            }
        }
    }
}

/// `url` with its database (the path) replaced by `database`; the query string, if any, is kept.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |index| index + 3);
    let (head, query) = match url.find('?') {
        Some(index) => url.split_at(index),
        None => (url, ""),
    };
    let base = match head[authority_start..].find('/') {
        Some(index) => &head[..authority_start + index],
        None => head,
    };
    format!("{base}/{database}{query}")
}

/// The URL without its user info (which may hold a password).
pub(crate) fn redact(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |index| index + 3);
    match url[authority_start..].find('@') {
        Some(index) => format!("{}{}", &url[..authority_start], &url[authority_start + index + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_and_keeps_the_rest() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
        assert_eq!(with_database("postgresql://h:5432", "x"), "postgresql://h:5432/x");
    }

    #[test]
    fn redacts_user_info() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://h:5432/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
