//! Command-line interface: subcommands and their flags. Every flag also reads a `TASKLEDGER_…` environment
//! variable; flags win over the environment, which wins over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use app::{Service, Services};

use crate::config::LogFormat;

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
    /// Run the command service (and the relay to the bus) alone.
    CommandService(ServeArgs),
    /// Run the projection service alone: read models, the board, the appendix, statistics.
    ProjectionService(ServeArgs),
    /// Run the notification service alone: deadline and reporting reminders by email, webhook, NATS and the
    /// in-app feed (GET /v1/notifications); as many replicas as wanted, against PostgreSQL and NATS.
    NotificationService(ServeArgs),
    /// Operate the notification service: re-enable a webhook endpoint, list dead letters.
    Notifications(NotificationsArgs),
    /// Manage the read models.
    Projections(ProjectionsArgs),
    /// Print a bearer token that a server on the same data dir (or the same TASKLEDGER_TOKEN_KEY) accepts.
    Token(TokenArgs),
    /// Walk the event log's hash chain, its Merkle tree and its signed checkpoints (in the database, or offline in
    /// an export bundle) and name the first position that does not verify.
    Verify(VerifyArgs),
    /// The transparency log: sign a checkpoint, prove an event's inclusion or the log's consistency.
    Audit(AuditArgs),
    /// Write the whole log, its signed checkpoints and the log's public key into a bundle directory.
    Export(ExportArgs),
    /// Measure performance, each figure beside the machine's limit measured in the same run.
    Bench(BenchArgs),
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
    /// Where the read models live (postgres://… or sqlite://…); the event database, or projections.db in the
    /// data dir, when absent.
    #[arg(long, env = "TASKLEDGER_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// NATS URL (several comma-separated for a cluster); without it an in-process bus carries events.
    #[arg(long, env = "TASKLEDGER_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Copies of the JetStream stream: 1 for one NATS server, 3 for a three-node cluster.
    #[arg(long, env = "TASKLEDGER_NATS_REPLICAS", default_value_t = 1)]
    pub nats_replicas: usize,
    /// The JetStream stream that holds the events.
    #[arg(long, env = "TASKLEDGER_NATS_STREAM", default_value = "TASKLEDGER_EVENTS")]
    pub nats_stream: String,
    /// The first tokens of every event subject (`<prefix>.task.<id>`).
    #[arg(long, env = "TASKLEDGER_NATS_SUBJECT_PREFIX", default_value = "taskledger.events")]
    pub nats_subject_prefix: String,
    /// Load the seed's plan and its reports as of 15/4/2024 (once; a restart finds it there).
    #[arg(long)]
    pub demo: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TASKLEDGER_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,
    #[command(flatten)]
    pub log_key: LogKeyArgs,
    /// Sign a checkpoint once the log has grown by this many events.
    #[arg(long, env = "TASKLEDGER_CHECKPOINT_EVERY_EVENTS", default_value_t = 10_000)]
    pub checkpoint_every_events: u64,
    /// Sign a checkpoint once the latest is this many seconds old and the log has grown since.
    #[arg(long, env = "TASKLEDGER_CHECKPOINT_INTERVAL_SECS", default_value_t = 60)]
    pub checkpoint_interval_secs: u64,
    /// The notification rule file (TOML; see crates/notification/config/notification.example.toml); the defaults
    /// without one. An invalid file or holiday calendar stops start-up, naming the line.
    #[arg(long = "notification-config", visible_alias = "config", env = "TASKLEDGER_NOTIFICATION_CONFIG")]
    pub notification_config: Option<PathBuf>,
    /// The notification service's business clock, for tests and drills only: system (default),
    /// fixed:<RFC 3339>, offset:<RFC 3339> (starts there and runs) or file:<path> (the instant in the file).
    #[arg(long, env = "TASKLEDGER_CLOCK", default_value = "system", hide = true)]
    pub clock: String,
}

#[derive(Debug, Args)]
pub struct NotificationsArgs {
    #[command(subcommand)]
    pub action: NotificationsAction,
}

#[derive(Debug, Subcommand)]
pub enum NotificationsAction {
    /// Enable a webhook endpoint that was disabled after failing repeatedly; its failures start over.
    EnableEndpoint(EnableEndpointArgs),
    /// Print the deliveries given up on (JSON lines), with their last error.
    DeadLetters(NotificationsStoreArgs),
    /// Print webhook endpoints' health (JSON lines).
    Endpoints(NotificationsStoreArgs),
}

#[derive(Debug, Args)]
pub struct NotificationsStoreArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, env = "TASKLEDGER_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnableEndpointArgs {
    /// The endpoint's name in the rule file.
    pub name: String,
    #[command(flatten)]
    pub database: NotificationsStoreArgs,
}

#[derive(Debug, Args)]
pub struct LogKeyArgs {
    /// The transparency log's name: the first line of every checkpoint and the name of the log key
    /// (TASKLEDGER_CHECKPOINT_KEY, else checkpoint.key in the data dir, created on first use).
    #[arg(long, env = "TASKLEDGER_LOG_ORIGIN", default_value = audit::key::DEFAULT_ORIGIN)]
    pub log_origin: String,
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
pub struct ProjectionsArgs {
    #[command(subcommand)]
    pub action: ProjectionsAction,
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsAction {
    /// Replay the store into fresh tables of a read model (every one without NAME) while the service keeps
    /// answering from the old ones, then switch atomically.
    Rebuild(RebuildArgs),
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// plans or tasks; every read model when absent.
    pub name: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, env = "TASKLEDGER_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Verify this export bundle offline instead of the database.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The verifier key the checkpoints must be signed by (`<name>+<key id>+<key>`, as GET /v1/audit/public-key
    /// gives it). Default: the log key of the data dir, or for a bundle its own log.pub (which proves less).
    #[arg(long)]
    pub public_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: AuditAction,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Sign a checkpoint of the whole log now and print its note.
    Checkpoint(AuditStoreArgs),
    /// Print the inclusion proof of an event (JSON), in the tree of the latest checkpoint unless told.
    Prove(ProveArgs),
    /// Print the consistency proof between two tree sizes (JSON).
    Consistency(ConsistencyArgs),
    /// Print the verifier key of the log.
    PublicKey(AuditStoreArgs),
}

#[derive(Debug, Args)]
pub struct AuditStoreArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub log_key: LogKeyArgs,
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    #[arg(long)]
    pub event_id: uuid::Uuid,
    /// The tree to prove the event in.
    #[arg(long)]
    pub tree_size: Option<u64>,
    #[command(flatten)]
    pub audit: AuditStoreArgs,
}

#[derive(Debug, Args)]
pub struct ConsistencyArgs {
    #[arg(long)]
    pub from: u64,
    /// The latest checkpoint's size when absent.
    #[arg(long)]
    pub to: Option<u64>,
    #[command(flatten)]
    pub audit: AuditStoreArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A new or empty directory to write the bundle into.
    #[arg(long)]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub audit: AuditStoreArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub benchmark: Benchmark,
}

#[derive(Debug, Subcommand)]
pub enum Benchmark {
    /// Commands per second over HTTP with 1 and N clients, p50/p99 latency, beside single-row INSERT
    /// transactions of the same rows on the same database; and the idle server's memory.
    Append(BenchAppendArgs),
    /// Replay rate of a rebuild over a million events, projection lag at a steady command rate and the appendix
    /// query of a 500-node plan, each beside the raw limit (SELECT scan, JetStream round trip, SELECT of the rows).
    Projections(BenchProjectionsArgs),
    /// A task's history of 1,000 events, the appendix of a 500-node plan as known at a past instant, and
    /// `verify` over a million events, each beside a raw SELECT of the same rows.
    Audit(BenchAuditArgs),
    /// 100,000 reminder occurrences scheduled, 10,000 falling due at once delivered to a local webhook receiver,
    /// and a reminder's delay when the service is idle, beside the receiver's own request rate.
    Notify(BenchNotifyArgs),
}

#[derive(Debug, Args)]
pub struct BenchNotifyArgs {
    /// PostgreSQL server on which a scratch database is created and dropped.
    #[arg(long, env = "TASKLEDGER_BENCH_DATABASE_URL", hide_env_values = true,
        default_value = bench::append::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Occurrences scheduled (5 per task).
    #[arg(long, default_value_t = 100_000)]
    pub occurrences: usize,
    /// Occurrences falling due at once.
    #[arg(long, default_value_t = 10_000)]
    pub fired: usize,
    /// Webhook requests at once, of the dispatcher and of the raw loop.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct BenchAuditArgs {
    /// PostgreSQL server on which a scratch database is created and dropped.
    #[arg(long, env = "TASKLEDGER_BENCH_DATABASE_URL", hide_env_values = true,
        default_value = bench::append::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Events the ledger holds at least (whole plans of 500 nodes are written).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Timed history and appendix requests (and raw selects), after a warm-up of 20.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

#[derive(Debug, Args)]
pub struct BenchAppendArgs {
    /// Which event stores to measure.
    #[arg(long, value_enum, default_value = "both")]
    pub backend: BenchBackend,
    /// PostgreSQL server on which a scratch database is created and dropped.
    #[arg(long, env = "TASKLEDGER_BENCH_DATABASE_URL", hide_env_values = true,
        default_value = bench::append::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Measured seconds of each run, after its warm-up.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Warm-up seconds before each run is measured.
    #[arg(long, default_value_t = 2)]
    pub warmup_secs: u64,
    /// Concurrent HTTP clients (and raw connections), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub clients: Vec<usize>,
}

#[derive(Debug, Args)]
pub struct BenchProjectionsArgs {
    /// PostgreSQL server on which a scratch database is created and dropped.
    #[arg(long, env = "TASKLEDGER_BENCH_DATABASE_URL", hide_env_values = true,
        default_value = bench::append::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// NATS server with JetStream; the benchmark's streams are its own and deleted at the end.
    #[arg(long, env = "TASKLEDGER_BENCH_NATS_URL", hide_env_values = true,
        default_value = bench::projections::DEFAULT_NATS_URL)]
    pub nats_url: String,
    /// Events the ledger holds at least (whole plans of 500 nodes are written).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Events per read and per transaction of the rebuild.
    #[arg(long, default_value_t = 5_000)]
    pub batch_size: usize,
    /// Commands per second while the projection lag is measured.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Measured seconds of the lag run, after its warm-up.
    #[arg(long, default_value_t = 20)]
    pub duration_secs: u64,
    /// Warm-up seconds of the lag run (commands sent, lag not counted).
    #[arg(long, default_value_t = 3)]
    pub warmup_secs: u64,
    /// Concurrent HTTP clients sharing the command schedule.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Report on this many tasks, round and round; every open task of the ledger (each reported on once, as at a
    /// reporting cut-off) when absent.
    #[arg(long)]
    pub lag_tasks: Option<usize>,
    /// Timed appendix requests (and raw selects), after a warm-up of 20.
    #[arg(long, default_value_t = 200)]
    pub appendix_requests: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
    Both,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.action {
        Action::Serve(args) => crate::serve::run(args, Services::ALL).await,
        Action::CommandService(args) => crate::serve::run(args, Services::only(Service::Command)).await,
        Action::ProjectionService(args) => crate::serve::run(args, Services::only(Service::Projection)).await,
        Action::NotificationService(args) => crate::serve::run(args, Services::only(Service::Notification)).await,
        Action::Notifications(NotificationsArgs { action }) => crate::notifications::run(action).await,
        Action::Projections(ProjectionsArgs { action: ProjectionsAction::Rebuild(args) }) => {
            crate::rebuild::run(args).await
        }
        Action::Token(args) => crate::token::run(args),
        Action::Verify(args) => crate::verify::run(&args).await,
        Action::Audit(AuditArgs { action }) => crate::audit::run(action).await,
        Action::Export(args) => crate::audit::export(&args).await,
        Action::Bench(BenchArgs { benchmark: Benchmark::Append(args) }) => crate::bench::run_append(args).await,
        Action::Bench(BenchArgs { benchmark: Benchmark::Projections(args) }) => {
            crate::bench::run_projections(args).await
        }
        Action::Bench(BenchArgs { benchmark: Benchmark::Audit(args) }) => crate::bench::run_audit(args).await,
        Action::Bench(BenchArgs { benchmark: Benchmark::Notify(args) }) => crate::bench::run_notify(args).await,
    }
}
