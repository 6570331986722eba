//! Configuration glue: logging, the token key, and which event store to open.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use event_store::EventStore;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogArgs, StoreArgs};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where events are stored. The database URL may hold a password: `Debug` hides it.
pub struct StoreConfig {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl From<&StoreArgs> for StoreConfig {
    fn from(args: &StoreArgs) -> Self {
        StoreConfig { data_dir: args.data_dir.clone(), database_url: args.database_url.clone() }
    }
}

impl StoreConfig {
    /// A short description for logs, without credentials.
    pub fn describe(&self) -> String {
        match &self.database_url {
            Some(url) => format!("postgresql ({})", url.split('@').next_back().unwrap_or("")),
            None => format!("sqlite ({})", self.sqlite_path().display()),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("taskledger.db")
    }

    /// Opens the store and runs its migrations.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn EventStore>> {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let store = event_store_postgres::PostgresEventStore::connect(url)
                    .await
                    .context("could not open the PostgreSQL event store")?;
                Ok(Arc::new(store))
            }
            Some(_) => anyhow::bail!("--database-url must start with postgres:// or postgresql://"),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("could not create data dir {}", self.data_dir.display()))?;
                let store = event_store_sqlite::SqliteEventStore::open(&self.sqlite_path())
                    .await
                    .context("could not open the SQLite event store")?;
                Ok(Arc::new(store))
            }
        }
    }
}

/// The token key: `TASKLEDGER_TOKEN_KEY` (base64) if set, else `<data dir>/token.key`, created on first use.
pub fn token_key(data_dir: &std::path::Path) -> anyhow::Result<auth::TokenKey> {
    let from_env = std::env::var("TASKLEDGER_TOKEN_KEY").ok();
    auth::TokenKey::resolve(from_env.as_deref(), data_dir).context("could not load the token key")
}

pub fn init_tracing(args: &LogArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_filter).context("invalid --log-filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}
