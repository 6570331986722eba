//! The appendix query of a large plan, beside the raw limit of reading the same plan's report rows.
//!
//! The figure: `GET /v1/plans/{id}/appendix?as_of=…` through the node's HTTP API, one keep-alive connection,
//! requests one after the other after a warm-up. The raw limit: `SELECT * FROM rm_reports_g<active> WHERE
//! plan_id = $1` on a PostgreSQL connection of its own, timed the same way — every report version of the plan
//! leaves the database, which the appendix needs to read (or to rank inside the database) to pick each node's
//! report in force.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use domain::actor::Role;
use domain::ids::PlanId;
use serde_json::Value;
use sqlx::PgPool;

use super::history::actor;
use super::lag::{new_histogram, record};
use super::Latency;

/// Requests before any is timed.
const WARMUP_REQUESTS: usize = 20;

#[derive(Debug, Clone)]
pub struct AppendixRun {
    pub n_rows: usize,
    pub http: Latency,
    pub n_report_rows: usize,
    pub raw: Latency,
}

/// Which appendix to ask for, and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendixTarget<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) plan_id: PlanId,
    pub(crate) as_of: &'a str,
    /// The appendix as it was known at this RFC 3339 instant (`known_at`), when given.
    pub(crate) known_at: Option<&'a str>,
}

pub(crate) async fn run(
    target: AppendixTarget<'_>,
    token_key: &auth::TokenKey,
    raw_pool: &PgPool,
    reports_table: &str,
    n_requests: usize,
) -> anyhow::Result<AppendixRun> {
    let AppendixTarget { base_url, plan_id, as_of, known_at } = target;
    let auditor = actor(Role::Auditor, "thanhtra", "Phạm Thị Dung", "TTR-TINH")?;
    let token = auth::mint(token_key, &auditor, time::OffsetDateTime::now_utc(), time::Duration::hours(12))
        .context("cannot mint a token")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")?;
    let mut url = format!("{base_url}/v1/plans/{plan_id}/appendix?as_of={as_of}");
    if let Some(known_at) = known_at {
        url.push_str(&format!("&known_at={}", known_at.replace('+', "%2B")));
    }
    let first: Value =
        serde_json::from_slice(&get(&client, &url, &token).await?).context("the appendix is not JSON")?;
    let n_rows = first["rows"].as_array().map_or(0, Vec::len);
    let mut http = new_histogram();
    for index in 0..WARMUP_REQUESTS + n_requests {
        let started = Instant::now();
        get(&client, &url, &token).await?;
        if index >= WARMUP_REQUESTS {
            record(&mut http, started.elapsed());
        }
    }

    let sql = format!("SELECT * FROM {reports_table} WHERE plan_id = $1");
    let mut raw = new_histogram();
    let mut n_report_rows = 0;
    for index in 0..WARMUP_REQUESTS + n_requests {
        let started = Instant::now();
        let rows = sqlx::query(&sql).bind(plan_id.to_string()).fetch_all(raw_pool).await.context("the raw select")?;
        if index >= WARMUP_REQUESTS {
            record(&mut raw, started.elapsed());
        }
        n_report_rows = rows.len();
    }
    Ok(AppendixRun { n_rows, http: Latency::of(&http), n_report_rows, raw: Latency::of(&raw) })
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<bytes::Bytes> {
    let response = client.get(url).bearer_auth(token).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("GET {url}: reading the answer"))?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(body)
}
