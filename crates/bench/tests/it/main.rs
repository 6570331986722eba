//! The append benchmark end to end, briefly: every phase runs on each backend, nothing fails, and the figures
//! are there. (Figures from a test run say nothing; `taskledger bench append` in a release build does.)

use std::time::Duration;

use bench::append::{AppendOptions, Backend, DEFAULT_DATABASE_URL};

fn options(backend: Backend) -> AppendOptions {
    AppendOptions {
        backends: vec![backend],
        database_url: std::env::var("TASKLEDGER_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned()),
        duration: Duration::from_secs(2),
        warmup: Duration::ZERO,
        clients: vec![2],
        server_binary: None,
    }
}

async fn runs_every_phase(backend: Backend) {
    let reports = bench::append::run(options(backend)).await.expect("the benchmark runs without a failed operation");
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    for figures in [&run.http, &run.store, &run.raw] {
        assert_eq!(figures.concurrency, 2);
        assert!(figures.operations > 0, "{figures:?}");
        assert_eq!(figures.errors, 0, "{figures:?}");
        assert!(figures.p50 <= figures.p99 && figures.p99 <= figures.max, "{figures:?}");
    }
    assert!(run.max_stream_length > 1, "each client's task keeps its reports");
    assert!(!report.targets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_every_phase() {
    runs_every_phase(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runs_every_phase_on_a_scratch_database() {
    runs_every_phase(Backend::Postgres).await;
}
