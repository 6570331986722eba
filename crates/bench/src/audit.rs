//! The audit benchmark (`taskledger bench audit`), on PostgreSQL, in one run, each figure beside a raw read of the
//! same rows measured the same way:
//!
//! 1. **verify**: the realistic ledger of the projections benchmark (`projections::history`, about a million
//!    events decided by the domain), a signed checkpoint of it, then `verify_store_with_checkpoints` — the chain
//!    recomputed from the canonical bytes of every event, the Merkle tree, the checkpoint's signature and root —
//!    in events per second, beside a plain `SELECT` of every column of every event (`projections::replay`).
//!    The time to build the in-memory Merkle tree of the log (what a service does at start) is printed too.
//! 2. **history**: one task given 1,000 events (progress reports over HTTP), then `GET /v1/tasks/{id}/history`
//!    one request after another, beside `SELECT` of the task stream's rows.
//! 3. **appendix as known at a past instant**: `GET /v1/plans/{id}/appendix?as_of=…&known_at=…` of a 500-node
//!    plan, `known_at` halfway through the plan's writing, beside `SELECT` of the plan's report rows.
//!
//! The node of phases 2 and 3 (`app::start`, in-process bus) replays the ledger into fresh read models when it
//! starts; that is not timed. The scratch database is dropped at the end, whatever happened.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use domain::actor::Role;
use event_store::verify::verify_store_with_checkpoints;
use event_store::EventStore;
use sqlx::postgres::{PgPool, PgPoolOptions};
use time::format_description::well_known::Rfc3339;

use crate::append::Backend;
use crate::machine;
use crate::projections::appendix::{self, AppendixRun, AppendixTarget};
use crate::projections::history::{self, actor, History};
use crate::projections::lag::{file_report, new_histogram, record, reporter_token};
use crate::projections::replay::{raw_scan, RawScan};
use crate::projections::{settle, Latency, TargetCheck};
use crate::scratch::Scratch;
use crate::table::millis;

/// `verify` must check at least this many events per second.
pub const VERIFY_TARGET_PER_SECOND: f64 = 200_000.0;
/// A task history of 1,000 events must answer within this at p95.
pub const HISTORY_P95_TARGET: Duration = Duration::from_millis(10);
/// The appendix as known at a past instant must answer within this at p95.
pub const APPENDIX_KNOWN_AT_P95_TARGET: Duration = Duration::from_millis(200);
/// Events of the task whose history is read.
pub const HISTORY_EVENTS: u64 = 1_000;
/// Requests before any is timed.
const WARMUP_REQUESTS: usize = 20;

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A PostgreSQL server URL (its database is only used to create and drop the scratch database).
    pub database_url: String,
    /// Events the ledger holds at least.
    pub n_events: u64,
    /// Timed requests (and raw selects) of phases 2 and 3, after a warm-up of 20.
    pub requests: usize,
}

#[derive(Debug, Clone)]
pub struct AuditReport {
    pub machine: String,
    pub location: String,
    pub n_events: u64,
    pub write_seconds: f64,
    pub tree_seconds: f64,
    pub raw_scan: RawScan,
    pub verify_events: u64,
    pub verify_seconds: f64,
    pub history_events: u64,
    pub history: Latency,
    pub history_raw: Latency,
    pub appendix: AppendixRun,
    pub appendix_as_of: String,
    pub appendix_known_at: String,
    pub load: Vec<(String, String)>,
}

impl AuditReport {
    pub fn verify_per_second(&self) -> f64 {
        self.verify_events as f64 / self.verify_seconds.max(1e-9)
    }

    pub fn targets(&self) -> Vec<TargetCheck> {
        vec![
            TargetCheck {
                holds: self.verify_per_second() >= VERIFY_TARGET_PER_SECOND,
                description: format!(
                    "verify ≥ {:.0} events/s: {:.0} events/s",
                    VERIFY_TARGET_PER_SECOND,
                    self.verify_per_second()
                ),
            },
            TargetCheck {
                holds: self.history.p95 < HISTORY_P95_TARGET,
                description: format!(
                    "history of a {}-event task p95 < {}: {}",
                    self.history_events,
                    millis(HISTORY_P95_TARGET),
                    millis(self.history.p95)
                ),
            },
            TargetCheck {
                holds: self.appendix.http.p95 < APPENDIX_KNOWN_AT_P95_TARGET,
                description: format!(
                    "appendix with known_at of a {}-row plan p95 < {}: {}",
                    self.appendix.n_rows,
                    millis(APPENDIX_KNOWN_AT_P95_TARGET),
                    millis(self.appendix.http.p95)
                ),
            },
        ]
    }
}

/// Runs the three phases, printing machine facts first and the report at the end. Missed targets are printed,
/// not errors.
pub async fn run(options: AuditOptions) -> anyhow::Result<AuditReport> {
    if options.n_events == 0 || options.requests == 0 {
        bail!("--events and --requests must be at least 1");
    }
    let machine = machine::describe();
    print!("{machine}");
    let scratch = Scratch::create(Backend::Postgres, &options.database_url).await?;
    eprintln!("audit: measuring on {}", scratch.describe());
    let result = tokio::select! {
        result = measure(&scratch, &options) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    scratch.destroy().await;
    let report = AuditReport { machine, ..result? };
    println!();
    print!("{}", render(&report));
    Ok(report)
}

async fn measure(scratch: &Scratch, options: &AuditOptions) -> anyhow::Result<AuditReport> {
    let Scratch::Postgres { url, .. } = scratch else { bail!("the audit benchmark runs on PostgreSQL") };
    let store = scratch.open_store().await?;
    let measured = async {
        let raw_pool = PgPoolOptions::new().max_connections(2).connect(url).await.context("the raw pool")?;
        let store = store.as_dyn();
        let mut load = vec![("write".to_owned(), machine::load_average())];
        eprintln!("writing a ledger of at least {} events through the domain…", options.n_events);
        let history = history::write(store.clone(), options.n_events).await.context("cannot write the ledger")?;
        eprintln!("  {} events in {:.1} s", history.n_events, history.seconds);
        settle(&raw_pool).await?;

        load.push(("verify".to_owned(), machine::load_average()));
        eprintln!("building the Merkle tree of the log and signing a checkpoint…");
        let key =
            transparency::checkpoint::SigningKey::generate("bench.taskledger.example/log", &mut rand::rngs::OsRng)
                .context("a log key")?;
        let started = Instant::now();
        let log = audit::log::AuditLog::open(store.clone(), key.clone()).await?;
        let tree_seconds = started.elapsed().as_secs_f64();
        log.make_checkpoint(time::OffsetDateTime::now_utc()).await?;
        drop(log);
        eprintln!("raw SELECT scan of the events table…");
        let raw = raw_scan(&raw_pool).await?;
        eprintln!("verify: chain, tree and checkpoint…");
        let started = Instant::now();
        let verified = verify_store_with_checkpoints(store.as_ref(), 10_000, &key.verifier_key())
            .await
            .map_err(|error| anyhow!("the ledger does not verify: {error}"))?;
        let verify_seconds = started.elapsed().as_secs_f64();

        load.push(("node".to_owned(), machine::load_average()));
        let node = Node { url, raw_pool: &raw_pool, store: store.as_ref(), options, log_key: &key };
        let (history_phase, appendix, appendix_as_of, appendix_known_at) = node.measure(&history, &mut load).await?;
        raw_pool.close().await;
        anyhow::Ok(AuditReport {
            machine: String::new(),
            location: scratch.describe(),
            n_events: history.n_events,
            write_seconds: history.seconds,
            tree_seconds,
            raw_scan: raw,
            verify_events: verified.chain.n_events,
            verify_seconds,
            history_events: history_phase.n_events,
            history: history_phase.http,
            history_raw: history_phase.raw,
            appendix,
            appendix_as_of,
            appendix_known_at,
            load,
        })
    }
    .await;
    store.close().await;
    measured
}

struct Node<'a> {
    url: &'a str,
    raw_pool: &'a PgPool,
    store: &'a dyn EventStore,
    options: &'a AuditOptions,
    /// The key that signed the ledger's checkpoint: the node signs with it too.
    log_key: &'a transparency::checkpoint::SigningKey,
}

struct HistoryPhase {
    n_events: u64,
    http: Latency,
    raw: Latency,
}

impl Node<'_> {
    async fn measure(
        &self,
        history: &History,
        load: &mut Vec<(String, String)>,
    ) -> anyhow::Result<(HistoryPhase, AppendixRun, String, String)> {
        let data_dir = tempfile::Builder::new().prefix("tl_bench_audit_").tempdir().context("a data dir")?;
        let mut config = app::NodeConfig::embedded("127.0.0.1:0".parse()?, data_dir.path().to_owned());
        config.database_url = Some(self.url.to_owned());
        config.audit.origin = self.log_key.name().to_owned();
        let key_file = data_dir.path().join(audit::key::CHECKPOINT_KEY_FILE_NAME);
        std::fs::write(&key_file, self.log_key.to_text()).context("cannot write the log key")?;
        let token_key = config.token_key()?;
        eprintln!("starting a node (its read models replay the ledger first; not timed)…");
        let node = app::start(&config, app::Services::ALL).await.context("cannot start the node")?;
        let base_url = format!("http://{}", node.address);
        let measured = async {
            settle(self.raw_pool).await?;
            load.push(("history".to_owned(), machine::load_average()));
            let history_phase = self.history(&base_url, &token_key, history).await?;
            load.push(("appendix".to_owned(), machine::load_average()));
            let plan = &history.plans[0];
            // Halfway through the first plan's writing (it is written alone, first): the appendix as it was
            // known then leaves out about half of its reports.
            let middle = self.store.read_all(plan.n_events / 2, 1).await?;
            let known_at = middle.first().context("the ledger is empty")?.recorded_at.format(&Rfc3339)?;
            let as_of = history::cut_off(history::REPORTS_PER_NODE - 1).to_string();
            eprintln!(
                "appendix of a {}-node plan as known at {known_at}, {} requests…",
                plan.n_nodes, self.options.requests
            );
            let generation =
                projection::db::ReadDb::connect(self.url).await?.generation(projection::models::tasks::NAME).await?;
            let reports_table = projection::db::table("reports", generation);
            let target =
                AppendixTarget { base_url: &base_url, plan_id: plan.plan_id, as_of: &as_of, known_at: Some(&known_at) };
            let appendix =
                appendix::run(target, &token_key, self.raw_pool, &reports_table, self.options.requests).await?;
            anyhow::Ok((history_phase, appendix, as_of, known_at))
        }
        .await;
        node.shutdown().await;
        measured
    }

    /// Gives an open task of the second plan 1,000 events in all, then times its history.
    async fn history(
        &self,
        base_url: &str,
        token_key: &auth::TokenKey,
        history: &History,
    ) -> anyhow::Result<HistoryPhase> {
        let plan = history.plans.get(1).or(history.plans.first()).context("no plan")?;
        let task_id = *plan.open_nodes.first().context("the plan has no open task")?;
        let stream = event_store::StreamId(format!("task-{task_id}"));
        let n_before = self.store.read_stream(&stream, 0).await?.len() as u64;
        eprintln!("filing {} reports on task {task_id} over HTTP…", HISTORY_EVENTS.saturating_sub(n_before));
        let reporter = reporter_token(token_key, &plan.agency)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build an HTTP client")?;
        for sequence in n_before..HISTORY_EVENTS {
            file_report(&client, base_url, task_id, &reporter, sequence).await.map_err(|error| anyhow!(error))?;
        }
        let n_events = self.store.read_stream(&stream, 0).await?.len() as u64;

        eprintln!("history of a {n_events}-event task, {} requests…", self.options.requests);
        let auditor = actor(Role::Auditor, "thanhtra", "Phạm Thị Dung", "TTR-TINH")?;
        let token = auth::mint(token_key, &auditor, time::OffsetDateTime::now_utc(), time::Duration::hours(12))
            .context("cannot mint a token")?;
        let url = format!("{base_url}/v1/tasks/{task_id}/history");
        let mut http = new_histogram();
        for index in 0..WARMUP_REQUESTS + self.options.requests {
            let started = Instant::now();
            let response = client.get(&url).bearer_auth(&token).send().await.with_context(|| format!("GET {url}"))?;
            let status = response.status();
            let body = response.bytes().await?;
            if !status.is_success() {
                bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
            }
            if index >= WARMUP_REQUESTS {
                record(&mut http, started.elapsed());
            }
        }
        let sql = "SELECT global_position, event_id, stream_id, stream_version, event_type, schema_version, \
                   effective_date, recorded_at, actor_id, actor_name, actor_unit, actor_role, command_id, \
                   correlation_id, causation_id, payload, prev_hash, hash FROM events WHERE stream_id = $1 \
                   ORDER BY stream_version";
        let mut raw = new_histogram();
        for index in 0..WARMUP_REQUESTS + self.options.requests {
            let started = Instant::now();
            let rows = sqlx::query(sql).bind(stream.as_str()).fetch_all(self.raw_pool).await.context("raw select")?;
            if index >= WARMUP_REQUESTS {
                record(&mut raw, started.elapsed());
            }
            if rows.len() as u64 != n_events {
                bail!("the raw select read {} rows of {n_events}", rows.len());
            }
        }
        Ok(HistoryPhase { n_events, http: Latency::of(&http), raw: Latency::of(&raw) })
    }
}

fn render(report: &AuditReport) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "== audit on PostgreSQL: {}", report.location);
    let loads: Vec<String> = report.load.iter().map(|(phase, load)| format!("{phase} {load}")).collect();
    let _ = writeln!(text, "load average at the start of each phase: {}", loads.join("; "));
    let _ = writeln!(
        text,
        "ledger: {} events written through the domain in {:.1} s; Merkle tree of the log built in {:.2} s",
        report.n_events, report.write_seconds, report.tree_seconds
    );
    let _ = writeln!(text);
    let raw = &report.raw_scan;
    let _ = writeln!(text, "1. verify: hash chain, Merkle tree and signed checkpoint over the whole store");
    let _ = writeln!(
        text,
        "   raw limit: SELECT of every column, {} rows in {:.2} s = {:.0} rows/s",
        raw.n_rows,
        raw.seconds,
        raw.per_second()
    );
    let _ = writeln!(
        text,
        "   verify       {} events in {:.2} s = {:.0} events/s   {:.2}× the raw limit",
        report.verify_events,
        report.verify_seconds,
        report.verify_per_second(),
        report.verify_per_second() / raw.per_second().max(1e-9)
    );
    let _ = writeln!(text);
    let _ = writeln!(text, "{:<58} {:>9} {:>9} {:>9} {:>9}", "", "p50", "p95", "p99", "max");
    let _ = writeln!(text, "2. history of one task ({} events)", report.history_events);
    latency_row(&mut text, "   GET /v1/tasks/{id}/history", &report.history);
    latency_row(&mut text, "   raw: SELECT of the stream's rows", &report.history_raw);
    ratio_row(&mut text, report.history.p95, report.history_raw.p95);
    let appendix = &report.appendix;
    let _ = writeln!(
        text,
        "3. appendix of a plan ({} rows, {} report rows), as_of {}, known_at {}",
        appendix.n_rows, appendix.n_report_rows, report.appendix_as_of, report.appendix_known_at
    );
    latency_row(&mut text, "   GET /v1/plans/{id}/appendix?as_of&known_at", &appendix.http);
    latency_row(&mut text, "   raw: SELECT of the plan's report rows", &appendix.raw);
    ratio_row(&mut text, appendix.http.p95, appendix.raw.p95);
    let _ = writeln!(text, "targets:");
    for check in report.targets() {
        let verdict = if check.holds { "PASS" } else { "MISS" };
        let _ = writeln!(text, "  {verdict}  {}", check.description);
    }
    text
}

fn latency_row(text: &mut String, label: &str, latency: &Latency) {
    let _ = writeln!(
        text,
        "{label:<58} {:>9} {:>9} {:>9} {:>9}",
        millis(latency.p50),
        millis(latency.p95),
        millis(latency.p99),
        millis(latency.max)
    );
}

fn ratio_row(text: &mut String, figure: Duration, raw: Duration) {
    let _ = writeln!(text, "{:<58} {:>19.2}×", "   p95 / raw p95", figure.as_secs_f64() / raw.as_secs_f64().max(1e-9));
}
