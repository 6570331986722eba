//! The append benchmark (`taskledger bench append`): for each backend, in one run, commands per second
//! end-to-end over HTTP with 1 and N concurrent clients (each on its own task), their latency, and the raw limit
//! of the same database on the same machine (single-row `INSERT` transactions of the same row, 1 and N
//! connections); and the resident memory of an idle `taskledger serve`.
//!
//! Per backend: a scratch database → the idle server's memory (the real binary on it) → the store opened as
//! `serve` opens it and the command service served in-process → one plan and a probe report (whose stored row is
//! the raw limit's template) → for each concurrency, the raw limit, the store's own `append` without HTTP, then
//! the HTTP load, each with its own warm-up
//! → the table → the scratch database dropped, whatever happened.
//!
//! Targets printed beside the figures: on PostgreSQL the most concurrent HTTP run reaches the raw figure of as
//! many connections (group commit batches concurrent appends into one transaction); on SQLite it reaches 0.8 of
//! the best raw figure; every HTTP p99 is under 25 ms; the idle server stays under 40 MB resident.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use event_store::group_commit::WriterStats;

use crate::http_load::{Fixture, InProcessServer};
use crate::measure::{Figures, Window};
use crate::scratch::{OpenStore, Scratch};
use crate::{http_load, idle_rss, machine, raw_insert, store_append, table};

/// The server URL the scratch databases are created on by default.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct AppendOptions {
    pub backends: Vec<Backend>,
    /// A PostgreSQL server URL (its database is only used to create and drop the scratch database).
    pub database_url: String,
    /// Measured time of each run, after its warm-up.
    pub duration: Duration,
    pub warmup: Duration,
    /// Concurrencies to run, each for HTTP clients and for raw connections.
    pub clients: Vec<usize>,
    /// The `taskledger` binary whose idle memory is measured; `None` skips that measurement.
    pub server_binary: Option<PathBuf>,
}

/// Everything measured on one backend.
#[derive(Debug, Clone)]
pub struct BackendReport {
    pub backend: Backend,
    /// Where the data was and how durable its writes are.
    pub location: String,
    pub durability: String,
    pub load_average_at_start: String,
    /// Resident memory of an idle `taskledger serve` on this backend, in bytes.
    pub idle_rss_bytes: Option<u64>,
    pub runs: Vec<ConcurrencyRun>,
    /// How the store appended its batches over the whole benchmark (PostgreSQL only: one round trip or exact).
    pub append_paths: Option<String>,
}

/// The HTTP load and the raw limit at one concurrency.
#[derive(Debug, Clone)]
pub struct ConcurrencyRun {
    pub http: Figures,
    /// The store's `append` called directly by as many callers (no HTTP, no stream read).
    pub store: Figures,
    pub raw: Figures,
    /// The same HTTP requests answered by a no-op handler: what HTTP alone costs on this machine.
    pub http_floor: Figures,
    /// The longest task stream at the end of the HTTP run, in events.
    pub max_stream_length: u64,
    /// What the store's writer did during the store run and during the HTTP run (warm-up included).
    pub store_writer: WriterRun,
    pub http_writer: WriterRun,
}

/// The group-commit writer over one run.
#[derive(Debug, Clone, Copy)]
pub struct WriterRun {
    pub batches_per_second: f64,
    /// Requests per batch on average.
    pub requests_per_batch: f64,
    /// The share of the run with a batch in the backend's hands: near 1 the writer is saturated, and appends
    /// wait for the database rather than for callers.
    pub busy_share: f64,
    /// The average time of a batch in the backend's hands.
    pub batch_time: Duration,
}

/// Whether a target holds, with the figures that say so.
#[derive(Debug, Clone)]
pub struct TargetCheck {
    pub holds: bool,
    pub description: String,
}

/// p99 of every HTTP run must stay under this.
pub const P99_TARGET: Duration = Duration::from_millis(25);
/// The idle server must stay under this resident size (decimal megabytes, 40 MB).
pub const IDLE_RSS_TARGET_BYTES: u64 = 40_000_000;
/// SQLite's most concurrent HTTP run must reach this share of the best raw figure.
pub const SQLITE_RAW_SHARE_TARGET: f64 = 0.8;

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// Runs the benchmark on every backend of `options`, printing machine facts first and a table per backend as
/// soon as it is measured. Fails if a run could not be done or if any command failed; missed targets are
/// printed, not errors.
pub async fn run(options: AppendOptions) -> anyhow::Result<Vec<BackendReport>> {
    if options.clients.is_empty() || options.clients.contains(&0) {
        bail!("--clients needs one or more counts, each at least 1");
    }
    if options.duration < Duration::from_secs(2) {
        bail!("--duration-secs must be at least 2 (the first and last seconds are reported apart)");
    }
    print!("{}", machine::describe());
    println!(
        "runs: {} s measured after {} s of warm-up, at {} concurrent clients / connections",
        options.duration.as_secs(),
        options.warmup.as_secs(),
        options.clients.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
    );
    let mut reports = Vec::with_capacity(options.backends.len());
    for &backend in &options.backends {
        let report = run_backend(backend, &options).await.with_context(|| format!("the {backend} benchmark failed"))?;
        println!();
        print!("{}", table::render(&report));
        reports.push(report);
    }
    let errors: u64 = reports
        .iter()
        .flat_map(|report| &report.runs)
        .map(|run| run.http.errors + run.store.errors + run.raw.errors)
        .sum();
    if errors > 0 {
        bail!("{errors} operations failed (see the tables): the figures above do not count");
    }
    Ok(reports)
}

impl BackendReport {
    /// The targets of the issue, checked against this report's figures.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let mut checks = Vec::new();
        if let Some(most_concurrent) = self.runs.iter().max_by_key(|run| run.http.concurrency) {
            checks.push(self.throughput_target(most_concurrent));
        }
        if !self.runs.is_empty() {
            let p99s: Vec<String> = self
                .runs
                .iter()
                .map(|run| format!("{} client(s) {}", run.http.concurrency, table::millis(run.http.p99)))
                .collect();
            checks.push(TargetCheck {
                holds: self.runs.iter().all(|run| run.http.p99 < P99_TARGET),
                description: format!("HTTP p99 < {} ms: {}", P99_TARGET.as_millis(), p99s.join(", ")),
            });
        }
        if let Some(rss) = self.idle_rss_bytes {
            checks.push(TargetCheck {
                holds: rss < IDLE_RSS_TARGET_BYTES,
                description: format!(
                    "idle server < {} MB resident: {}",
                    IDLE_RSS_TARGET_BYTES / 1_000_000,
                    table::megabytes(rss)
                ),
            });
        }
        checks
    }

    fn throughput_target(&self, most_concurrent: &ConcurrencyRun) -> TargetCheck {
        let http = &most_concurrent.http;
        match self.backend {
            Backend::Postgres => {
                let raw = &most_concurrent.raw;
                let ratio = http.per_second() / raw.per_second();
                let floor = &most_concurrent.http_floor;
                TargetCheck {
                    holds: ratio >= 1.0,
                    description: format!(
                        "HTTP with {} clients ≥ raw with {} connections: {:.0}/s vs {:.0}/s ({ratio:.2}×); \
                         HTTP alone (no-op handler) does {:.0}/s here, {:.2}× raw",
                        http.concurrency,
                        raw.concurrency,
                        http.per_second(),
                        raw.per_second(),
                        floor.per_second(),
                        floor.per_second() / raw.per_second()
                    ),
                }
            }
            Backend::Sqlite => {
                let best_raw = self
                    .runs
                    .iter()
                    .map(|run| &run.raw)
                    .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
                    .expect("runs is not empty");
                let ratio = http.per_second() / best_raw.per_second();
                TargetCheck {
                    holds: ratio >= SQLITE_RAW_SHARE_TARGET,
                    description: format!(
                        "HTTP with {} clients ≥ {SQLITE_RAW_SHARE_TARGET} × best raw ({} connection(s)): \
                         {:.0}/s vs {:.0}/s ({ratio:.2}×)",
                        http.concurrency,
                        best_raw.concurrency,
                        http.per_second(),
                        best_raw.per_second()
                    ),
                }
            }
        }
    }
}

/// One backend from scratch database to dropped database; Ctrl-C stops it and still drops the database.
async fn run_backend(backend: Backend, options: &AppendOptions) -> anyhow::Result<BackendReport> {
    let scratch = Scratch::create(backend, &options.database_url).await?;
    eprintln!("{backend}: measuring on {}", scratch.describe());
    let result = tokio::select! {
        result = measure_backend(backend, &scratch, options) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    scratch.destroy().await;
    result
}

async fn measure_backend(
    backend: Backend,
    scratch: &Scratch,
    options: &AppendOptions,
) -> anyhow::Result<BackendReport> {
    let load_average_at_start = machine::load_average();
    let idle_rss_bytes = match &options.server_binary {
        Some(binary) => {
            eprintln!("  idle server memory ({} serve)…", binary.display());
            let database_url = match scratch {
                Scratch::Postgres { url, .. } => Some(url.as_str()),
                Scratch::Sqlite { .. } => None,
            };
            Some(idle_rss::measure(binary, database_url).await.context("cannot measure the idle server's memory")?)
        }
        None => None,
    };
    let store = scratch.open_store().await?;
    let measured = async {
        let durability = raw_insert::durability(scratch).await.context("cannot read the durability settings")?;
        let runs = measure_with_store(&store, scratch, options).await?;
        anyhow::Ok((durability, runs))
    }
    .await;
    let append_paths = store.append_paths();
    store.close().await;
    let (durability, runs) = measured?;
    Ok(BackendReport {
        backend,
        location: scratch.describe(),
        durability,
        load_average_at_start,
        idle_rss_bytes,
        runs,
        append_paths,
    })
}

/// The store's writer watched over one run (see [`WriterRun`]).
struct WriterPhase {
    before: WriterStats,
    started: std::time::Instant,
}

impl WriterPhase {
    fn start(store: &OpenStore) -> WriterPhase {
        WriterPhase { before: store.writer_stats(), started: std::time::Instant::now() }
    }

    fn finish(&self, store: &OpenStore) -> WriterRun {
        let elapsed = self.started.elapsed().as_secs_f64();
        let stats = store.writer_stats().since(&self.before);
        let batches = stats.batches.max(1) as f64;
        WriterRun {
            batches_per_second: stats.batches as f64 / elapsed,
            requests_per_batch: stats.requests as f64 / batches,
            busy_share: stats.busy.as_secs_f64() / elapsed,
            batch_time: stats.busy.div_f64(batches),
        }
    }
}

async fn measure_with_store(
    store: &OpenStore,
    scratch: &Scratch,
    options: &AppendOptions,
) -> anyhow::Result<Vec<ConcurrencyRun>> {
    let server = InProcessServer::start(store.as_dyn()).await?;
    let runs = async {
        let mut fixture = Fixture::create(&server).await.context("cannot create the benchmark's plan")?;
        let template = fixture.stored_report(&*store.as_dyn()).await.context("cannot file the probe report")?;
        raw_insert::create_table(scratch).await.context("cannot create the raw insert table")?;
        let window = || Window::starting_now(options.warmup, options.duration);
        let mut runs = Vec::with_capacity(options.clients.len());
        for &concurrency in &options.clients {
            eprintln!("  raw single-row INSERT transactions, {concurrency} connection(s)…");
            scratch.settle().await?;
            let raw = raw_insert::run(scratch, &template, concurrency, window).await.context("raw inserts")?;
            eprintln!("  store append without HTTP, {concurrency} caller(s)…");
            scratch.settle().await?;
            let phase = WriterPhase::start(store);
            let store_figures = store_append::run(store.as_dyn(), &template, concurrency, window).await?;
            let store_writer = phase.finish(store);
            eprintln!("  HTTP POST /v1/tasks/{{id}}/reports, {concurrency} client(s)…");
            scratch.settle().await?;
            let phase = WriterPhase::start(store);
            let load = fixture.run(concurrency, window).await.context("HTTP load")?;
            let http_writer = phase.finish(store);
            eprintln!("  HTTP floor (no-op handler), {concurrency} client(s)…");
            let http_floor = http_load::http_floor(concurrency, window).await.context("HTTP floor")?;
            runs.push(ConcurrencyRun {
                http: load.figures,
                store: store_figures,
                raw,
                http_floor,
                max_stream_length: load.max_stream_length,
                store_writer,
                http_writer,
            });
        }
        Ok(runs)
    }
    .await;
    server.stop().await;
    runs
}
