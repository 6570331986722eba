//! The idle server's memory: the real binary started as `taskledger serve` (SQLite in a temporary data dir, or
//! PostgreSQL on the scratch database), waited for until `/readyz` answers, left idle for two seconds, and its
//! resident set (`VmRSS` of `/proc/<pid>/status`) read before it is killed.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long the server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it stays idle before its memory is read.
const IDLE: Duration = Duration::from_secs(2);

/// Resident memory of an idle `taskledger serve`, in bytes. `database_url` picks PostgreSQL, else SQLite.
pub(crate) async fn measure(binary: &Path, database_url: Option<&str>) -> anyhow::Result<u64> {
    let data_dir = tempfile::Builder::new().prefix("tl_bench_rss_").tempdir().context("cannot create a data dir")?;
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir.path())
        .arg("--listen")
        .arg(&listen)
        .env_remove("TASKLEDGER_DATABASE_URL")
        .env_remove("TASKLEDGER_NATS_URL")
        .env("TASKLEDGER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command.spawn().with_context(|| format!("cannot start {} serve", binary.display()))?;
    let pid = child.id().context("the server exited at once")?;

    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build()?;
    let ready_url = format!("http://{listen}/readyz");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it was ready ({status})");
        }
        let ready = client.get(&ready_url).send().await.is_ok_and(|response| response.status().is_success());
        if ready {
            break;
        }
        if started.elapsed() > READY_TIMEOUT {
            bail!("the server did not answer {ready_url} within {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
    tokio::time::sleep(IDLE).await;
    let rss = resident_bytes(pid);
    let _ = child.kill().await;
    rss
}

fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status_path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&status_path).with_context(|| format!("cannot read {status_path}"))?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS line")?;
    let kilobytes: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("cannot read {line:?}"))?;
    Ok(kilobytes * 1024)
}

/// A port that was free a moment ago (the server binds it right after).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
