//! The projections benchmark (`taskledger bench projections`), on PostgreSQL and NATS JetStream, in one run:
//!
//! 1. **Replay**: a scratch database filled with a realistic ledger of about a million events (`history`: plans
//!    of 500 tasks and indicators, 20 reports each, corrections, extensions, completions, decided by the domain
//!    and appended in large requests), then `projection::rebuild::rebuild` of the tasks and the plans models over
//!    all of it, in events per second, beside a plain `SELECT` of every column of every event (`replay`).
//! 2. **Lag**: a node (`app::start`) running the command and projection services ([`NODE_SERVICES`]) on that
//!    database and NATS, commands over HTTP at a steady rate, the time from each command's `201` until the tasks
//!    model has applied it, beside a JetStream publish → consume round trip of an event envelope at the same rate
//!    (`lag`).
//! 3. **Appendix**: `GET /v1/plans/{id}/appendix` of a 500-node plan with 20 reports per node, beside a plain
//!    `SELECT` of that plan's report rows (`appendix`).
//!
//! Before phases 1 and 2 the scratch database is vacuumed, analysed and checkpointed (`settle`), as a running
//! deployment's would be. `report` prints each figure beside its raw limit, their ratio and the targets. The scratch database and the
//! JetStream streams are removed at the end, whatever happened (Ctrl-C included).

pub(crate) mod appendix;
pub(crate) mod history;
pub(crate) mod lag;
pub(crate) mod replay;
mod report;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use event_store::EventStore;
use hdrhistogram::Histogram;
use projection::db::ReadDb;
use projection::models::plans::PlansModel;
use projection::models::tasks::TasksModel;
use prost::Message as _;
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use crate::append::Backend;
use crate::machine;
use crate::scratch::Scratch;

pub use appendix::AppendixRun;
pub use lag::{BusRoundTrip, LagRun};
pub use replay::{RawScan, Rebuild, RebuildParts};

/// The services of the node under load in phases 2 and 3: the command service (with its relay) and the projection
/// service, as a cluster deploys them; the notification service, which derives reminders from every event, runs in
/// a process of its own there and is left out here.
pub const NODE_SERVICES: app::Services = app::Services::only(app::Service::Command).with(app::Service::Projection);

/// The NATS server the benchmark uses by default.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Replay must reach this many events per second.
pub const REPLAY_TARGET_PER_SECOND: f64 = 100_000.0;
/// The projection lag's p99 must stay under this.
pub const LAG_P99_TARGET: Duration = Duration::from_millis(100);
/// The appendix query's p95 must stay under this.
pub const APPENDIX_P95_TARGET: Duration = Duration::from_millis(50);
/// The lag target counts only if the node took the offered rate: at least this share of it.
pub const ACHIEVED_RATE_SHARE: f64 = 0.99;

/// What to run.
#[derive(Debug, Clone)]
pub struct ProjectionsOptions {
    /// A PostgreSQL server URL (its database is only used to create and drop the scratch database).
    pub database_url: String,
    pub nats_url: String,
    /// Events the ledger holds at least (whole plans are written).
    pub n_events: u64,
    /// Events per read and per transaction of the rebuild.
    pub rebuild_batch_size: usize,
    /// Commands per second during the lag run.
    pub rate: u32,
    pub warmup: Duration,
    pub duration: Duration,
    /// Concurrent HTTP clients sharing the command schedule.
    pub clients: usize,
    /// Tasks the commands go to, round and round; every open task (each reported on once) when `None`.
    pub lag_tasks: Option<usize>,
    /// Timed appendix requests (and raw selects), after a warm-up.
    pub appendix_requests: usize,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct ProjectionsReport {
    pub machine: String,
    pub location: String,
    pub n_plans: usize,
    pub n_events: u64,
    pub n_nodes: u64,
    pub n_report_versions: u64,
    pub write_seconds: f64,
    pub raw_scan: RawScan,
    pub rebuild_parts: RebuildParts,
    pub rebuilds: Vec<Rebuild>,
    pub rebuilt_check: String,
    pub bus: BusRoundTrip,
    pub lag: LagRun,
    pub appendix: AppendixRun,
    pub appendix_as_of: String,
    /// Load average when each phase started.
    pub load: Vec<(String, String)>,
}

/// Latency percentiles of one kind of operation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub n: u64,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Whether a target holds, with the figures that say so.
#[derive(Debug, Clone)]
pub struct TargetCheck {
    pub holds: bool,
    pub description: String,
}

impl Latency {
    pub(crate) fn of(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        let micros = |quantile: f64| Duration::from_micros(histogram.value_at_quantile(quantile));
        Latency {
            n: histogram.len(),
            p50: micros(0.50),
            p95: micros(0.95),
            p99: micros(0.99),
            max: Duration::from_micros(histogram.max()),
        }
    }
}

/// Runs the three phases, printing machine facts first and the table at the end. Fails if a phase could not be
/// done or a command failed; missed targets are printed, not errors.
pub async fn run(options: ProjectionsOptions) -> anyhow::Result<ProjectionsReport> {
    if options.rate == 0 || options.clients == 0 || options.n_events == 0 || options.rebuild_batch_size == 0 {
        bail!("--rate, --clients, --events and --batch-size must be at least 1");
    }
    if options.duration < Duration::from_secs(1) {
        bail!("--duration-secs must be at least 1");
    }
    let machine = machine::describe();
    print!("{machine}");
    let scratch = Scratch::create(Backend::Postgres, &options.database_url).await?;
    let node_stream = NodeStream::new();
    eprintln!("projections: measuring on {}, NATS stream {}", scratch.describe(), node_stream.stream_name);
    let result = tokio::select! {
        result = measure(&scratch, &node_stream, &options) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    node_stream.delete(&options.nats_url).await;
    scratch.destroy().await;
    let report = ProjectionsReport { machine, ..result? };
    println!();
    print!("{}", report::render(&report));
    if report.lag.errors > 0 {
        bail!(
            "{} commands failed (first: {}): the lag figures do not count",
            report.lag.errors,
            report.lag.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(report)
}

/// The JetStream stream and subject prefix of the node under test, its own so that nothing else is disturbed.
struct NodeStream {
    stream_name: String,
    subject_prefix: String,
}

impl NodeStream {
    fn new() -> NodeStream {
        let token = Uuid::new_v4().simple().to_string();
        NodeStream { stream_name: format!("TLBENCH_{token}"), subject_prefix: format!("tlbench.{token}") }
    }

    fn bus_config(&self) -> bus_nats::NatsBusConfig {
        bus_nats::NatsBusConfig {
            stream_name: self.stream_name.clone(),
            subject_prefix: self.subject_prefix.clone(),
            ..bus_nats::NatsBusConfig::default()
        }
    }

    /// Deletes the stream if it exists; failures are printed, not returned.
    async fn delete(&self, nats_url: &str) {
        let deleted = async {
            let client = async_nats::connect(nats_url).await?;
            let context = async_nats::jetstream::new(client);
            match context.get_stream(&self.stream_name).await {
                Ok(_) => context.delete_stream(&self.stream_name).await.map(drop).map_err(anyhow::Error::from),
                Err(_) => anyhow::Ok(()),
            }
        };
        if let Err(error) = deleted.await {
            eprintln!("could not delete the NATS stream {}: {error}; delete it by hand", self.stream_name);
        }
    }
}

/// The scratch database and what every phase reads it through.
struct Phases<'a> {
    options: &'a ProjectionsOptions,
    /// The scratch database's URL.
    url: &'a str,
    store: Arc<dyn EventStore>,
    /// Plain PostgreSQL connections for the raw limits and housekeeping.
    raw_pool: PgPool,
    read_db: ReadDb,
}

/// Phase 1's figures.
struct Replay {
    raw_scan: RawScan,
    parts: RebuildParts,
    rebuilds: Vec<Rebuild>,
    check: String,
}

async fn measure(
    scratch: &Scratch,
    node_stream: &NodeStream,
    options: &ProjectionsOptions,
) -> anyhow::Result<ProjectionsReport> {
    let Scratch::Postgres { url, .. } = scratch else { bail!("the projections benchmark runs on PostgreSQL") };
    let store = scratch.open_store().await?;
    let measured = async {
        let raw_pool = PgPoolOptions::new().max_connections(2).connect(url).await.context("the raw pool")?;
        let read_db = ReadDb::connect(url).await.context("cannot open the read database")?;
        let phases = Phases { options, url, store: store.as_dyn(), raw_pool, read_db };
        let mut load = vec![("write".to_owned(), machine::load_average())];
        eprintln!("writing a ledger of at least {} events through the domain…", options.n_events);
        let history =
            history::write(phases.store.clone(), options.n_events).await.context("cannot write the ledger")?;
        eprintln!("  {} events in {:.1} s", history.n_events, history.seconds);

        phases.settle().await?;
        load.push(("replay".to_owned(), machine::load_average()));
        let replay = phases.replay(&history).await?;

        phases.settle().await?;
        load.push(("bus".to_owned(), machine::load_average()));
        let pace = lag::Pace { rate: options.rate, warmup: options.warmup, duration: options.duration };
        let bus = phases.bus_round_trip(pace).await?;

        load.push(("lag".to_owned(), machine::load_average()));
        let (lag, appendix, appendix_as_of) = phases.node(node_stream, &history, pace).await?;
        phases.raw_pool.close().await;
        anyhow::Ok(ProjectionsReport {
            machine: String::new(),
            location: scratch.describe(),
            n_plans: history.plans.len(),
            n_events: history.n_events,
            n_nodes: history.n_nodes(),
            n_report_versions: history.n_report_versions(),
            write_seconds: history.seconds,
            raw_scan: replay.raw_scan,
            rebuild_parts: replay.parts,
            rebuilds: replay.rebuilds,
            rebuilt_check: replay.check,
            bus,
            lag,
            appendix,
            appendix_as_of,
            load,
        })
    }
    .await;
    store.close().await;
    measured
}

impl Phases<'_> {
    /// Phase 1: the raw scan, both rebuilds, and the rebuild's parts alone.
    async fn replay(&self, history: &history::History) -> anyhow::Result<Replay> {
        let batch_size = self.options.rebuild_batch_size;
        eprintln!("raw SELECT scan of the events table…");
        let raw_scan = replay::raw_scan(&self.raw_pool).await?;
        eprintln!("rebuilding the tasks model…");
        let tasks = replay::rebuild(&self.read_db, self.store.as_ref(), Arc::new(TasksModel), batch_size).await?;
        let check = replay::check_tasks_model(&self.read_db, history, &tasks).await?;
        eprintln!("rebuilding the plans model…");
        let plans = replay::rebuild(&self.read_db, self.store.as_ref(), Arc::new(PlansModel), batch_size).await?;
        eprintln!("the rebuild's parts alone: reading through the store, inserting the report rows…");
        let (n_events_read, read_seconds) = replay::store_scan(self.store.as_ref(), batch_size).await?;
        let (n_rows_inserted, insert_seconds) =
            replay::insert_select(&self.raw_pool, &self.reports_table().await?).await?;
        let parts = RebuildParts { n_events_read, read_seconds, n_rows_inserted, insert_seconds };
        Ok(Replay { raw_scan, parts, rebuilds: vec![tasks, plans], check })
    }

    /// The raw limit of phase 2: envelopes of a stored report, published and consumed at the pace's rate.
    async fn bus_round_trip(&self, pace: lag::Pace) -> anyhow::Result<BusRoundTrip> {
        eprintln!("JetStream publish → consume round trip at {}/s…", pace.rate);
        let head = self.store.head().await?;
        let probe = report_event(self.store.as_ref(), head.position).await?;
        let envelope = proto::envelope_from_recorded(&probe).map_err(|error| anyhow!("no envelope: {error}"))?;
        lag::bus_round_trip(&self.options.nats_url, envelope.encode_to_vec(), pace).await
    }

    /// Phases 2 and 3, on a node started on the scratch database: the lag under load, then the appendix.
    async fn node(
        &self,
        node_stream: &NodeStream,
        history: &history::History,
        pace: lag::Pace,
    ) -> anyhow::Result<(LagRun, AppendixRun, String)> {
        let options = self.options;
        // The bus of a running deployment already carries the history: put the last event on the node's stream,
        // so that its relay resumes after it instead of publishing a million events again.
        let head = self.store.head().await?;
        let last = self.store.read_all(head.position.saturating_sub(1), 1).await?;
        let bus = bus_nats::NatsBus::connect(&options.nats_url, node_stream.bus_config()).await?;
        bus::EventBus::publish(&bus, &last).await?;

        let data_dir = tempfile::Builder::new().prefix("tl_bench_node_").tempdir().context("a data dir")?;
        let mut config = app::NodeConfig::embedded("127.0.0.1:0".parse()?, data_dir.path().to_owned());
        config.database_url = Some(self.url.to_owned());
        config.nats_url = Some(options.nats_url.clone());
        config.nats_stream = node_stream.stream_name.clone();
        config.nats_subject_prefix = node_stream.subject_prefix.clone();
        let token_key = config.token_key()?;
        let node = app::start(&config, NODE_SERVICES).await.context("cannot start the node")?;
        let base_url = format!("http://{}", node.address);
        let measured = async {
            let projectors = &node.projection.as_ref().context("the node runs no projection service")?.projectors;
            let tasks = projectors
                .iter()
                .find(|projector| projector.name() == projection::models::tasks::NAME)
                .context("the node has no tasks model")?;
            eprintln!(
                "{} commands/s over HTTP for {} s (+{} s warm-up), {} clients…",
                options.rate,
                options.duration.as_secs(),
                options.warmup.as_secs(),
                options.clients
            );
            let load = lag::CommandLoad { n_clients: options.clients, n_tasks: options.lag_tasks };
            let lag = lag::run(&base_url, &token_key, history, tasks.watch_checkpoint(), pace, load).await?;

            let plan = &history.plans[0];
            eprintln!("appendix of a {}-node plan, {} requests…", plan.n_nodes, options.appendix_requests);
            let as_of = history::cut_off(history::REPORTS_PER_NODE - 1).to_string();
            let reports_table = self.reports_table().await?;
            let appendix =
                appendix::AppendixTarget { base_url: &base_url, plan_id: plan.plan_id, as_of: &as_of, known_at: None };
            let appendix =
                appendix::run(appendix, &token_key, &self.raw_pool, &reports_table, options.appendix_requests).await?;
            anyhow::Ok((lag, appendix, as_of))
        }
        .await;
        node.shutdown().await;
        measured
    }

    /// The tasks model's reports table in its active generation.
    async fn reports_table(&self) -> anyhow::Result<String> {
        let generation = self.read_db.generation(projection::models::tasks::NAME).await?;
        Ok(projection::db::table("reports", generation))
    }

    /// Brings the scratch database to the state a running deployment's would be in before a phase is measured:
    /// statistics gathered and dead rows vacuumed (what autovacuum does, and this server may have it off), and
    /// the previous phase's writes flushed by a checkpoint, so that they do not stall the next one's commits.
    async fn settle(&self) -> anyhow::Result<()> {
        settle(&self.raw_pool).await
    }
}

/// See [`Phases::settle`]: vacuum, analyse and checkpoint the scratch database before a phase is measured.
pub(crate) async fn settle(raw_pool: &PgPool) -> anyhow::Result<()> {
    eprintln!("VACUUM (ANALYZE) and CHECKPOINT before the next phase…");
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(raw_pool).await.context("VACUUM (ANALYZE)")?;
    if let Err(error) = sqlx::raw_sql("CHECKPOINT").execute(raw_pool).await {
        eprintln!("  no CHECKPOINT ({error}): the next phase may meet the previous one's writes");
    }
    Ok(())
}

/// A progress report stored near the end of the log: the message the raw bus limit carries.
async fn report_event(store: &dyn EventStore, head: u64) -> anyhow::Result<event_store::RecordedEvent> {
    let events = store.read_all(head.saturating_sub(2_000), 2_000).await?;
    events.into_iter().rev().find(|event| event.event_type == "ProgressReported").context("no report in the log")
}
