//! `taskledger bench append`: flags to [`bench::append::AppendOptions`]; the benchmark itself lives in the
//! `bench` crate. This binary is the server whose idle memory it measures.
//! `taskledger bench projections`: flags to [`bench::projections::ProjectionsOptions`].
//! `taskledger bench audit`: flags to [`bench::audit::AuditOptions`].

use std::time::Duration;

use anyhow::Context;
use bench::append::{AppendOptions, Backend};

use crate::cli::{BenchAppendArgs, BenchAuditArgs, BenchBackend, BenchNotifyArgs, BenchProjectionsArgs};

pub async fn run_append(args: BenchAppendArgs) -> anyhow::Result<()> {
    let backends = match args.backend {
        BenchBackend::Sqlite => vec![Backend::Sqlite],
        BenchBackend::Postgres => vec![Backend::Postgres],
        BenchBackend::Both => vec![Backend::Postgres, Backend::Sqlite],
    };
    let options = AppendOptions {
        backends,
        database_url: args.database_url,
        duration: Duration::from_secs(args.duration_secs),
        warmup: Duration::from_secs(args.warmup_secs),
        clients: args.clients,
        server_binary: Some(std::env::current_exe().context("cannot find this binary to start it as a server")?),
    };
    bench::append::run(options).await?;
    Ok(())
}

pub async fn run_projections(args: BenchProjectionsArgs) -> anyhow::Result<()> {
    let options = bench::projections::ProjectionsOptions {
        database_url: args.database_url,
        nats_url: args.nats_url,
        n_events: args.events,
        rebuild_batch_size: args.batch_size,
        rate: args.rate,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        clients: args.clients,
        lag_tasks: args.lag_tasks,
        appendix_requests: args.appendix_requests,
    };
    bench::projections::run(options).await?;
    Ok(())
}

pub async fn run_audit(args: BenchAuditArgs) -> anyhow::Result<()> {
    let options =
        bench::audit::AuditOptions { database_url: args.database_url, n_events: args.events, requests: args.requests };
    bench::audit::run(options).await?;
    Ok(())
}

pub async fn run_notify(args: BenchNotifyArgs) -> anyhow::Result<()> {
    let options = bench::notify::NotifyOptions {
        database_url: args.database_url,
        n_occurrences: args.occurrences,
        n_fired: args.fired,
        concurrency: args.concurrency,
    };
    bench::notify::run(options).await?;
    Ok(())
}
