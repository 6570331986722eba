//! Command-line interface: subcommands and their flags. Every flag also reads a `TASKLEDGER_…` environment
//! variable; flags win over the environment, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{LogFormat, StoreConfig};

#[derive(Debug, Parser)]
#[command(
    name = "taskledger",
    version,
    about = "The ledger of assigned tasks: every change an immutable, hash-chained event"
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, global = true, env = "TASKLEDGER_LOG", default_value = "info")]
    pub log_filter: String,
    /// Log format.
    #[arg(long, global = true, env = "TASKLEDGER_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Run every service in one process (SQLite and an in-process bus unless told otherwise).
    Serve(ServeArgs),
    /// Run the command service alone.
    CommandService(ServeArgs),
    /// Print a bearer token that a server on the same data dir (or the same TASKLEDGER_TOKEN_KEY) accepts.
    Token(TokenArgs),
    /// Walk the event log's hash chain and name the first position that does not verify.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Directory for the SQLite database and the token key.
    #[arg(long, env = "TASKLEDGER_DATA_DIR", default_value = "./taskledger-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…); without it the store is SQLite in the data dir.
    #[arg(long, env = "TASKLEDGER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TASKLEDGER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// NATS URL; without it an in-process bus carries events.
    #[arg(long, env = "TASKLEDGER_NATS_URL")]
    pub nats_url: Option<String>,
    /// Load the seed's plan and its reports as of 15/4/2024 (once; a restart finds it there).
    #[arg(long)]
    pub demo: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TASKLEDGER_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub unit: String,
    /// planner, reporter, approver, auditor or admin.
    #[arg(long)]
    pub role: String,
    /// Validity in hours.
    #[arg(long, default_value_t = 12)]
    pub hours: i64,
    #[arg(long, env = "TASKLEDGER_DATA_DIR", default_value = "./taskledger-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.action {
        Action::Serve(args) | Action::CommandService(args) => crate::serve::run(args).await,
        Action::Token(args) => crate::token::run(args),
        Action::Verify(args) => crate::verify::run(StoreConfig::from(&args.store)).await,
    }
}
