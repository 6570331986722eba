//! The read database: PostgreSQL or SQLite through sqlx's `Any` driver, so that every read model is written once.
//!
//! SQL here is the portable subset both engines share (`$n` placeholders in order of first use, `ON CONFLICT`,
//! window functions, TEXT dates). Where they differ — how a write transaction starts, row locks — [`Dialect`]
//! decides. Each read model's tables carry a generation suffix (`rm_tasks_g3`): a rebuild fills the next
//! generation while queries keep reading the active one, then switches in one transaction (`rebuild`).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::bulk::BulkWriter;

/// Which engine the read database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("read database is unavailable: {0}")]
    Unavailable(String),
    #[error("read database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("read model {model} has no active generation")]
    NoGeneration { model: String },
}

/// A pool on the read database.
#[derive(Clone)]
pub struct ReadDb {
    pool: AnyPool,
    dialect: Dialect,
    /// Where the database is, for the bulk-write connection of a rebuild on PostgreSQL (never printed: it may
    /// hold a password).
    url: Arc<str>,
}

impl ReadDb {
    /// Opens the read database of embedded mode: a SQLite file (created if missing).
    pub async fn open_sqlite(path: &Path) -> Result<ReadDb, DbError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        ReadDb::connect(&url).await
    }

    /// Connects to `postgres://…` or `sqlite://…` and creates the bookkeeping tables.
    pub async fn connect(url: &str) -> Result<ReadDb, DbError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") { Dialect::Sqlite } else { Dialect::Postgres };
        let options = AnyConnectOptions::from_str(url).map_err(|error| DbError::Unavailable(error.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        for pragma in
                            ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 10000"]
                        {
                            sqlx::query(pragma).execute(&mut *connection).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| DbError::Unavailable(error.to_string()))?;
        let db = ReadDb { pool, dialect, url: Arc::from(url) };
        db.create_bookkeeping().await?;
        Ok(db)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A connection of its own that writes rows with `COPY` (see [`BulkWriter`]), on PostgreSQL; SQLite has none.
    pub async fn bulk_writer(&self) -> Result<Option<BulkWriter>, DbError> {
        match self.dialect {
            Dialect::Postgres => Ok(Some(BulkWriter::connect(&self.url).await?)),
            Dialect::Sqlite => Ok(None),
        }
    }

    /// Starts a write transaction that holds the write lock from its first statement (SQLite `BEGIN IMMEDIATE`),
    /// so that two writers never deadlock upgrading a read lock.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, DbError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// [`Self::begin_write`] for a transaction that applies events to a read model with its checkpoint. On PostgreSQL
    /// it commits without waiting for the WAL to reach the disk (`synchronous_commit = off`): a crash may lose the
    /// last such transactions, and only whole, since each moves the checkpoint with its rows; the runtime then applies
    /// those events again from the store. The rows are visible to readers at commit either way, and any later
    /// durable commit makes them durable too.
    pub async fn begin_apply(&self) -> Result<Transaction<'static, Any>, DbError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin_with("BEGIN; SET LOCAL synchronous_commit = off").await?,
        })
    }

    /// ` FOR UPDATE` where the engine has row locks (SQLite's write transaction already excludes other writers).
    pub fn for_update(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    /// ` COLLATE "C"` on PostgreSQL, whose default collation compares text by the locale's rules: ids and ISO
    /// dates order the same byte by byte, and sorting them so is much cheaper. SQLite compares bytes already.
    pub fn bytewise(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => " COLLATE \"C\"",
            Dialect::Sqlite => "",
        }
    }

    /// The active generation and checkpoint of a read model, creating its first generation when it has none.
    pub async fn ensure_model(&self, model: &str, create_tables: &[String]) -> Result<(i64, i64), DbError> {
        if let Some(found) = self.active(model).await? {
            return Ok(found);
        }
        let mut transaction = self.begin_write().await?;
        let existing = sqlx::query(&format!(
            "SELECT active_generation, checkpoint FROM rm_projections WHERE model = $1{}",
            self.for_update()
        ))
        .bind(model)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(row) = existing {
            transaction.commit().await?;
            return Ok((row.try_get(0)?, row.try_get(1)?));
        }
        for statement in create_tables {
            sqlx::query(statement).execute(&mut *transaction).await?;
        }
        sqlx::query("INSERT INTO rm_projections (model, active_generation, checkpoint) VALUES ($1, 1, 0)")
            .bind(model)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok((1, 0))
    }

    /// `(active_generation, checkpoint)` of a read model.
    pub async fn active(&self, model: &str) -> Result<Option<(i64, i64)>, DbError> {
        let row = sqlx::query("SELECT active_generation, checkpoint FROM rm_projections WHERE model = $1")
            .bind(model)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
            None => None,
        })
    }

    /// The active generation of a read model, for building table names in queries.
    pub async fn generation(&self, model: &str) -> Result<i64, DbError> {
        self.active(model)
            .await?
            .map(|(generation, _)| generation)
            .ok_or_else(|| DbError::NoGeneration { model: model.to_owned() })
    }

    async fn create_bookkeeping(&self) -> Result<(), DbError> {
        let statements = [
            "CREATE TABLE IF NOT EXISTS rm_projections (
                model TEXT PRIMARY KEY,
                active_generation BIGINT NOT NULL,
                checkpoint BIGINT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS rm_parked (
                model TEXT NOT NULL,
                global_position BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                error TEXT NOT NULL,
                parked_at TEXT NOT NULL,
                PRIMARY KEY (model, global_position)
            )",
        ];
        for statement in statements {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        Ok(())
    }
}

/// The name of a read model's table in a generation: `rm_<table>_g<generation>`.
pub fn table(name: &str, generation: i64) -> String {
    format!("rm_{name}_g{generation}")
}

/// `$first, $first+1, …` for `n` parameters: `IN (…)` lists. `$n` placeholders work on both engines (sqlx's
/// `QueryBuilder` writes `?` for `Any`, which PostgreSQL refuses).
pub fn placeholders(first: usize, n: usize) -> String {
    let mut text = String::with_capacity(n * 8);
    push_placeholders(&mut text, first, n);
    text
}

/// `($1, $2), ($3, $4)` for `n_rows` rows of `n_columns`: multi-row `VALUES`.
pub fn values_rows(n_rows: usize, n_columns: usize) -> String {
    let mut text = String::with_capacity(n_rows * (n_columns * 8 + 4));
    for row in 0..n_rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        push_placeholders(&mut text, 1 + row * n_columns, n_columns);
        text.push(')');
    }
    text
}

/// The most rows of `n_columns` one statement may bind: [`MAX_PARAMETERS`] in all.
pub fn rows_per_statement(n_columns: usize) -> usize {
    (MAX_PARAMETERS / n_columns.max(1)).max(1)
}

/// Bound parameters per statement at most: under SQLite's limit (32,766 since 3.32) and PostgreSQL's (65,535),
/// and large enough that a multi-row statement carries a thousand rows.
pub const MAX_PARAMETERS: usize = 16_000;

fn push_placeholders(text: &mut String, first: usize, n: usize) {
    use std::fmt::Write;
    for index in first..first + n {
        if index > first {
            text.push_str(", ");
        }
        let _ = write!(text, "${index}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(values_rows(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(values_rows(1, 3), "($1, $2, $3)");
    }

    #[test]
    fn statements_stay_under_the_parameter_limit() {
        assert!(rows_per_statement(24) * 24 <= MAX_PARAMETERS);
        assert!(rows_per_statement(14) >= 1_000);
        assert_eq!(rows_per_statement(0), MAX_PARAMETERS);
    }
}
