//! Projection lag under a steady command rate, beside the raw limit of the bus it travels on.
//!
//! The raw limit: messages of the size of a real event envelope published to a scratch JetStream stream at the
//! same rate, and consumed by a durable pull consumer with explicit acks (as the projectors consume), each timed
//! from publish to receive.
//!
//! The figure: a whole node (`app::start`, every service) on the scratch database and NATS, with a stream and a
//! subject prefix of its own. Commands (progress reports, each on a task that no other command in flight touches)
//! are sent over HTTP at a steady rate by open-loop clients: command *i* is due at `start + i / rate` whether or not
//! the ones before it have answered. For each command, the lag is the time from its `201` until the tasks model's
//! checkpoint (watched in-process with `Projector::watch_checkpoint`) reaches the command's `position`: from that
//! instant, every read of the board or the appendix shows the report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use async_nats::jetstream;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::HeaderMap;
use domain::actor::Role;
use domain::ids::TaskId;
use domain::unit_code::UnitCode;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::history::{actor, History};
use super::Latency;

/// How long to wait for the read model to reach the last command once the load has stopped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The header that carries a raw message's send time (nanoseconds since the run's base instant).
const SENT_HEADER: &str = "Bench-Sent-Nanos";

/// What the lag run measured.
#[derive(Debug, Clone)]
pub struct LagRun {
    /// Commands due per second, and those answered `201` per second within the measured window.
    pub offered_rate: f64,
    pub achieved_rate: f64,
    pub n_measured: u64,
    /// Tasks the commands went to.
    pub n_tasks: usize,
    /// From a command's `201` until the read model has its position.
    pub lag: Latency,
    /// From sending a command until the read model has its position (the command's own latency included).
    pub sent_to_visible: Latency,
    /// The commands themselves, from sending to the `201`.
    pub command: Latency,
    /// How late commands left after their due time (the clients falling behind shows here).
    pub start_delay: Latency,
    pub errors: u64,
    pub first_error: Option<String>,
    /// How busy the whole machine was during the measured window (node, database, NATS and clients alike).
    pub machine_busy: Option<crate::machine::MachineBusy>,
}

/// The JetStream round trip at the same rate.
#[derive(Debug, Clone)]
pub struct BusRoundTrip {
    pub message_bytes: usize,
    pub round_trip: Latency,
    pub achieved_rate: f64,
}

/// Who sends the commands: concurrent clients sharing the schedule, over which tasks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommandLoad {
    pub(crate) n_clients: usize,
    /// Report on this many tasks, round and round; every open task of the ledger (each reported on once at most
    /// during a run, as at a reporting cut-off) when `None`.
    pub(crate) n_tasks: Option<usize>,
}

/// Load shape shared by both runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) rate: u32,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

impl Pace {
    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.rate.max(1)))
    }

    fn n_due(&self) -> u64 {
        ((self.warmup + self.duration).as_secs_f64() * f64::from(self.rate)).round() as u64
    }
}

/// Publishes `payload` on a scratch stream at the pace's rate and times each message until a durable pull consumer
/// receives it. The stream is deleted before returning, whatever happened.
pub(crate) async fn bus_round_trip(nats_url: &str, payload: Vec<u8>, pace: Pace) -> anyhow::Result<BusRoundTrip> {
    let client =
        async_nats::connect(nats_url).await.with_context(|| format!("cannot connect to NATS at {nats_url}"))?;
    let context = jetstream::new(client);
    let token = Uuid::new_v4().simple().to_string();
    let stream_name = format!("TLBENCH_RAW_{token}");
    let subject = format!("tlbench.raw.{token}");
    let stream = context
        .create_stream(jetstream::stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("{subject}.>")],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|error| anyhow!("cannot create the scratch stream {stream_name}: {error}"))?;
    let measured = round_trip_on(&context, &stream, &subject, payload, pace).await;
    if let Err(error) = context.delete_stream(&stream_name).await {
        eprintln!("could not delete the scratch stream {stream_name}: {error}; delete it by hand");
    }
    measured
}

async fn round_trip_on(
    context: &jetstream::Context,
    stream: &jetstream::stream::Stream,
    subject: &str,
    payload: Vec<u8>,
    pace: Pace,
) -> anyhow::Result<BusRoundTrip> {
    // As the bus's projectors consume: a durable pull consumer, explicit acks, pulls of 256.
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("tlbench-raw".to_owned()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .map_err(|error| anyhow!("cannot create the scratch consumer: {error}"))?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(256)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(|error| anyhow!("cannot pull from the scratch consumer: {error}"))?;
    let base = Instant::now();
    let start = base + Duration::from_millis(100);
    let measure_from = start + pace.warmup;
    let n_due = pace.n_due();
    let receiver = tokio::spawn(async move {
        let mut histogram = new_histogram();
        let mut n_received = 0_u64;
        while n_received < n_due {
            let message = match tokio::time::timeout(DRAIN_TIMEOUT, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(error))) => return Err(anyhow!("pulling failed: {error}")),
                Ok(None) => return Err(anyhow!("the pull ended")),
                Err(_) => return Err(anyhow!("no message for {} s", DRAIN_TIMEOUT.as_secs())),
            };
            let received = base.elapsed();
            let sent = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(SENT_HEADER))
                .and_then(|value| value.as_str().parse::<u64>().ok())
                .context("a message without its send time")?;
            let sent = Duration::from_nanos(sent);
            if base + sent >= measure_from {
                record(&mut histogram, received.saturating_sub(sent));
            }
            message.ack().await.map_err(|error| anyhow!("ack failed: {error}"))?;
            n_received += 1;
        }
        anyhow::Ok(histogram)
    });
    let (acks_sender, mut acks) = tokio::sync::mpsc::unbounded_channel();
    let acknowledger = tokio::spawn(async move {
        while let Some(ack) = acks.recv().await {
            let ack: jetstream::context::PublishAckFuture = ack;
            ack.await.map_err(|error| anyhow!("publish not acknowledged: {error}"))?;
        }
        anyhow::Ok(())
    });
    let payload = bytes::Bytes::from(payload);
    let message_bytes = payload.len();
    for index in 0..n_due {
        tokio::time::sleep_until((start + pace.interval().mul_f64(index as f64)).into()).await;
        let mut headers = HeaderMap::new();
        headers.insert(SENT_HEADER, (base.elapsed().as_nanos() as u64).to_string());
        let publish = jetstream::message::PublishMessage::build().payload(payload.clone()).headers(headers);
        let ack = context
            .send_publish(format!("{subject}.{}", index % 64), publish)
            .await
            .map_err(|error| anyhow!("cannot publish: {error}"))?;
        let _ = acks_sender.send(ack);
    }
    drop(acks_sender);
    acknowledger.await.context("the acknowledger panicked")??;
    let histogram = receiver.await.context("the receiver panicked")??;
    let achieved_rate = histogram.len() as f64 / pace.duration.as_secs_f64();
    Ok(BusRoundTrip { message_bytes, round_trip: Latency::of(&histogram), achieved_rate })
}

/// One command as sent and answered.
struct Sample {
    due: Instant,
    sent: Instant,
    answered: Instant,
    position: u64,
}

/// Drives report commands at the pace's rate against the node at `base_url` and times each until the tasks
/// model's checkpoint reaches it.
pub(crate) async fn run(
    base_url: &str,
    token_key: &auth::TokenKey,
    history: &History,
    checkpoint: watch::Receiver<u64>,
    pace: Pace,
    load: CommandLoad,
) -> anyhow::Result<LagRun> {
    let n_clients = load.n_clients;
    // Open nodes of every plan but the first (the appendix phase reads that one as written), spread over the
    // clients so that no two commands in flight touch the same task.
    let mut tokens = std::collections::HashMap::new();
    let mut nodes: Vec<(TaskId, Arc<String>)> = Vec::new();
    for plan in history.plans.iter().skip(1) {
        let token = match tokens.get(plan.agency.as_str()) {
            Some(token) => Arc::clone(token),
            None => {
                let token = Arc::new(reporter_token(token_key, &plan.agency)?);
                tokens.insert(plan.agency.as_str().to_owned(), Arc::clone(&token));
                token
            }
        };
        nodes.extend(plan.open_nodes.iter().map(|task_id| (*task_id, Arc::clone(&token))));
    }
    if let Some(n_tasks) = load.n_tasks {
        nodes.truncate(n_tasks);
    }
    if nodes.len() < n_clients {
        bail!("{} open tasks for {n_clients} clients: write more events (--events) or use more tasks", nodes.len());
    }
    let n_tasks = nodes.len();
    let watcher = Watcher::spawn(checkpoint);
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + pace.warmup;
    let until = measure_from + pace.duration;
    let machine_busy = tokio::spawn(crate::machine::busy_during(crate::measure::Window { measure_from, until }));
    let next = Arc::new(AtomicU64::new(0));
    let n_due = pace.n_due();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(n_clients)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")?;
    let mut clients = tokio::task::JoinSet::new();
    for client_index in 0..n_clients {
        let my_nodes: Vec<(TaskId, Arc<String>)> =
            nodes.iter().skip(client_index).step_by(n_clients).cloned().collect();
        let (client, next, base_url) = (client.clone(), next.clone(), base_url.to_owned());
        clients.spawn(async move {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            let mut cursor = 0_usize;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= n_due {
                    break;
                }
                let due = start + pace.interval().mul_f64(index as f64);
                tokio::time::sleep_until(due.into()).await;
                let (task_id, token) = &my_nodes[cursor % my_nodes.len()];
                cursor += 1;
                let sent = Instant::now();
                match file_report(&client, &base_url, *task_id, token, index).await {
                    Ok(position) => samples.push(Sample { due, sent, answered: Instant::now(), position }),
                    Err(error) => errors.push(error),
                }
            }
            (samples, errors)
        });
    }
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = clients.join_next().await {
        let (client_samples, client_errors) = joined.context("an HTTP client panicked")?;
        samples.extend(client_samples);
        errors.extend(client_errors);
    }
    let last_position = samples.iter().map(|sample| sample.position).max().unwrap_or(0);
    let seen = watcher.until(last_position).await?;
    let machine_busy = machine_busy.await.ok().flatten();

    let (mut lag, mut sent_to_visible, mut command, mut start_delay) =
        (new_histogram(), new_histogram(), new_histogram(), new_histogram());
    let mut n_answered_in_window = 0_u64;
    for sample in &samples {
        if sample.answered >= measure_from && sample.answered <= until {
            n_answered_in_window += 1;
        }
        if sample.due < measure_from {
            continue;
        }
        let index = seen.partition_point(|(position, _)| *position < sample.position);
        let visible = seen.get(index).map(|(_, at)| *at).context("a position the watcher never saw")?;
        record(&mut lag, visible.saturating_duration_since(sample.answered));
        record(&mut sent_to_visible, visible.saturating_duration_since(sample.sent));
        record(&mut command, sample.answered - sample.sent);
        record(&mut start_delay, sample.sent.saturating_duration_since(sample.due));
    }
    Ok(LagRun {
        offered_rate: f64::from(pace.rate),
        achieved_rate: n_answered_in_window as f64 / pace.duration.as_secs_f64(),
        n_measured: lag.len(),
        n_tasks,
        lag: Latency::of(&lag),
        sent_to_visible: Latency::of(&sent_to_visible),
        command: Latency::of(&command),
        start_delay: Latency::of(&start_delay),
        errors: errors.len() as u64,
        first_error: errors.into_iter().next(),
        machine_busy,
    })
}

/// Records every checkpoint the projector publishes, with when it was seen: the positions only grow, so the first
/// entry at or past a position is when that position became visible.
struct Watcher {
    last_position: oneshot::Sender<u64>,
    task: tokio::task::JoinHandle<Vec<(u64, Instant)>>,
}

impl Watcher {
    fn spawn(mut checkpoint: watch::Receiver<u64>) -> Watcher {
        let (last_position, mut told) = oneshot::channel::<u64>();
        let task = tokio::spawn(async move {
            let mut seen = vec![(*checkpoint.borrow_and_update(), Instant::now())];
            let mut until = u64::MAX;
            while seen.last().is_none_or(|(position, _)| *position < until) {
                tokio::select! {
                    biased;
                    changed = checkpoint.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let position = *checkpoint.borrow_and_update();
                        seen.push((position, Instant::now()));
                    }
                    position = &mut told, if until == u64::MAX => until = position.unwrap_or(0),
                }
            }
            seen
        });
        Watcher { last_position, task }
    }

    /// Waits until the checkpoint reaches `last_position` and answers what was seen until then.
    async fn until(self, last_position: u64) -> anyhow::Result<Vec<(u64, Instant)>> {
        let _ = self.last_position.send(last_position);
        let mut task = self.task;
        match tokio::time::timeout(DRAIN_TIMEOUT, &mut task).await {
            Ok(joined) => joined.context("the checkpoint watcher panicked"),
            Err(_) => {
                task.abort();
                bail!("the tasks model did not reach position {last_position} within {} s", DRAIN_TIMEOUT.as_secs())
            }
        }
    }
}

/// Files one report and answers its position.
pub(crate) async fn file_report(
    client: &reqwest::Client,
    base_url: &str,
    task_id: TaskId,
    token: &str,
    sequence: u64,
) -> Result<u64, String> {
    let url = format!("{base_url}/v1/tasks/{task_id}/reports");
    let response = client
        .post(&url)
        .bearer_auth(token)
        .header("idempotency-key", Uuid::now_v7().to_string())
        .json(&report_body(sequence))
        .send()
        .await
        .map_err(|error| format!("POST {url}: {error}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|error| format!("POST {url}: reading the answer: {error}"))?;
    if status != StatusCode::CREATED {
        return Err(format!("POST {url} answered {status}: {}", String::from_utf8_lossy(&bytes)));
    }
    let answer: Value = serde_json::from_slice(&bytes).map_err(|error| format!("POST {url}: {error}"))?;
    answer["position"].as_u64().ok_or_else(|| format!("POST {url}: no position in {answer}"))
}

fn report_body(sequence: u64) -> Value {
    json!({
        "as_of": "2024-12-31",
        "summary": format!(
            "Đến ngày 31/12/2024, đơn vị đã hoàn thành khảo sát 30/30 doanh nghiệp, tổ chức 06 lớp tập huấn cho \
             240 lượt cán bộ kỹ thuật; đang tổng hợp kết quả để báo cáo Ủy ban nhân dân tỉnh (báo cáo {sequence})."
        ),
        "measures": [{"label": "Doanh nghiệp đã khảo sát", "achieved": 30, "target": 30, "unit": "doanh nghiệp"}],
        "progress": "in_progress",
        "evidence": ["Báo cáo số 120/BC-KHCN ngày 31/12/2024"]
    })
}

pub(crate) fn reporter_token(key: &auth::TokenKey, agency: &UnitCode) -> anyhow::Result<String> {
    let reporter = actor(Role::Reporter, "chuyenvien", "Nguyễn Văn An", agency.as_str())?;
    auth::mint(key, &reporter, time::OffsetDateTime::now_utc(), time::Duration::hours(12))
        .context("cannot mint a token")
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Records a duration in microseconds (at least 1).
pub(crate) fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    histogram.saturating_record(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX).max(1));
}
