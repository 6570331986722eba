//! The notification benchmark (`taskledger bench notify`), on PostgreSQL, in one run:
//!
//! 1. **schedule**: 20,000 tasks assigned through the domain (plans of 500, as the command service appends them),
//!    then the notification consumer derives their reminders — 5 each (14, 7, 3, 1 working days before and on the
//!    day): 100,000 occurrences, one webhook delivery each — timed from the first event to the last row.
//! 2. **idle delay**: with the service running and nothing else due, reminders fall due one instant after the other
//!    (a small group of tasks due on different days of November); for each, the time from becoming due to its
//!    arrival at the receiver. Target: under 1 s.
//! 3. **fire**: 10,000 reminders fall due at once (10,000 tasks due 31/12/2024, 14 working days before: 11/12
//!    08:00); the time until the receiver has all of them. Target: under 10 s.
//! 4. **raw limit**: the same receiver's own rate, a plain loop of signed POSTs at the dispatcher's concurrency.
//!
//! The receiver is `notification::testing::webhook::WebhookReceiver` on 127.0.0.1, which verifies every signature.
//! The service's business clock is a clock of the benchmark's that runs at the real pace from where it is set. The
//! scratch database is dropped at the end, whatever happened.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use domain::deadline::Deadline;
use domain::ids::{PlanId, TaskId};
use domain::numbering::TaskNumber;
use domain::plan::{CreatePlan, Plan, PlanEvent, Section};
use domain::task::AssignTask;
use event_store::{AppendRequest, EventStore, ExpectedVersion, StreamAppend, StreamId};
use hdrhistogram::Histogram;
use notification::channels::webhook::{sign, WebhookSecret};
use notification::clock::Clock;
use notification::rules::NotificationConfig;
use notification::service::{NotificationService, ServiceParts};
use notification::testing::webhook::WebhookReceiver;
use projection::db::ReadDb;
use projection::runtime::ProjectorConfig;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::append::Backend;
use crate::machine;
use crate::projections::history::{planner, section, text, unit};
use crate::projections::{Latency, TargetCheck};
use crate::scratch::Scratch;
use crate::table::millis;

/// All the fired reminders must arrive within this.
pub const FIRE_TARGET: Duration = Duration::from_secs(10);
/// A reminder must arrive within this of becoming due, when the service is idle.
pub const IDLE_DELAY_TARGET: Duration = Duration::from_secs(1);
/// Tasks per plan.
const TASKS_PER_PLAN: usize = 500;
/// Occurrences each task gives with the benchmark's rules: 14, 7, 3, 1 working days before, and on the day.
const OCCURRENCES_PER_TASK: usize = 5;
/// Tasks of the idle phase, due on different days of late November and early December 2024.
const IDLE_TASKS: usize = 20;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Debug, Clone)]
pub struct NotifyOptions {
    pub database_url: String,
    /// Occurrences scheduled (a multiple of 5; tasks are 5 occurrences each).
    pub n_occurrences: usize,
    /// Of which this many fall due at once.
    pub n_fired: usize,
    /// Deliveries sent at once by the dispatcher, and requests at once in the raw loop.
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct NotifyReport {
    pub machine: String,
    pub location: String,
    pub n_tasks: usize,
    pub write_seconds: f64,
    pub n_occurrences: u64,
    pub schedule_seconds: f64,
    pub idle: Latency,
    pub n_fired: usize,
    pub fire_seconds: f64,
    pub fire_duplicates: usize,
    pub raw_requests: usize,
    pub raw_seconds: f64,
    pub concurrency: usize,
    pub load: Vec<(String, String)>,
}

impl NotifyReport {
    pub fn fire_per_second(&self) -> f64 {
        self.n_fired as f64 / self.fire_seconds.max(1e-9)
    }

    pub fn raw_per_second(&self) -> f64 {
        self.raw_requests as f64 / self.raw_seconds.max(1e-9)
    }

    pub fn targets(&self) -> Vec<TargetCheck> {
        vec![
            TargetCheck {
                holds: Duration::from_secs_f64(self.fire_seconds) < FIRE_TARGET,
                description: format!(
                    "{} reminders due at once delivered in < {} s: {:.2} s",
                    self.n_fired,
                    FIRE_TARGET.as_secs(),
                    self.fire_seconds
                ),
            },
            TargetCheck {
                holds: self.idle.n > 0 && self.idle.max < IDLE_DELAY_TARGET,
                description: format!(
                    "each reminder sent within {} of becoming due when idle: p99 {}, max {}",
                    millis(IDLE_DELAY_TARGET),
                    millis(self.idle.p99),
                    millis(self.idle.max)
                ),
            },
        ]
    }
}

/// Runs the phases, printing machine facts first and the report at the end. Missed targets are printed, not errors.
pub async fn run(options: NotifyOptions) -> anyhow::Result<NotifyReport> {
    if options.n_fired == 0 || options.n_occurrences < options.n_fired * OCCURRENCES_PER_TASK {
        bail!("--occurrences must be at least 5 × --fired, and --fired at least 1");
    }
    let machine = machine::describe();
    print!("{machine}");
    let scratch = Scratch::create(Backend::Postgres, &options.database_url).await?;
    eprintln!("notify: measuring on {}", scratch.describe());
    let result = tokio::select! {
        result = measure(&scratch, &options) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    scratch.destroy().await;
    let report = NotifyReport { machine, ..result? };
    println!();
    print!("{}", render(&report));
    Ok(report)
}

async fn measure(scratch: &Scratch, options: &NotifyOptions) -> anyhow::Result<NotifyReport> {
    let Scratch::Postgres { url, .. } = scratch else { bail!("the notification benchmark runs on PostgreSQL") };
    let store = scratch.open_store().await?;
    let events = store.as_dyn();
    let mut load = vec![("write".to_owned(), machine::load_average())];
    let receiver = WebhookReceiver::start(WebhookSecret::parse(SECRET)?).await.context("the webhook receiver")?;
    let n_tasks = options.n_occurrences / OCCURRENCES_PER_TASK;
    // The fired tasks are due 31/12/2024; the others mid-2025, so that nothing else falls due during the run; a few
    // are due late November for the idle phase.
    let mut deadlines: Vec<Deadline> = Vec::with_capacity(n_tasks);
    for index in 0..n_tasks {
        let deadline = if index < IDLE_TASKS {
            Deadline::Day(datetime!(2024-11-20 00:00 UTC).date() + time::Duration::days(index as i64))
        } else if index < IDLE_TASKS + options.n_fired {
            Deadline::try_month(2024, 12)?
        } else {
            Deadline::try_month(2025, 6)?
        };
        deadlines.push(deadline);
    }
    eprintln!("writing {n_tasks} task assignments through the domain…");
    let started = Instant::now();
    write_tasks(events.as_ref(), &deadlines).await?;
    let write_seconds = started.elapsed().as_secs_f64();

    let clock = Arc::new(RunningClock::at(datetime!(2024-10-25 07:00 +7)));
    let config = NotificationConfig::parse(
        &format!(
            "[rules]\nlease = \"60s\"\n[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
             [rules.deadline]\nchannels = [\"webhook\"]\n\
             [[webhooks]]\nname = \"receiver\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
            receiver.url("/hooks/taskledger")
        ),
        "bench.toml",
    )?;
    let calendar = config.calendar()?;
    let read_db = ReadDb::connect(url).await.context("the read database")?;
    let service = NotificationService::new(ServiceParts {
        read_db,
        events: events.clone(),
        config,
        calendar,
        clock: clock.clone(),
        nats: None,
        owner: "bench".to_owned(),
        projector: ProjectorConfig { batch_size: 5_000, ..ProjectorConfig::default() },
    })
    .await?;

    load.push(("schedule".to_owned(), machine::load_average()));
    eprintln!("deriving the reminders…");
    let started = Instant::now();
    service.catch_up().await.context("deriving the reminders")?;
    let schedule_seconds = started.elapsed().as_secs_f64();
    let n_occurrences = service.store.occurrences().await?.len() as u64;

    let cancel = CancellationToken::new();
    let dispatcher = tokio::spawn(service.dispatcher.clone().run(cancel.clone()));

    load.push(("idle".to_owned(), machine::load_average()));
    eprintln!("idle: reminders falling due one instant after the other…");
    let idle = idle_delays(&service, &receiver, &clock).await?;

    load.push(("fire".to_owned(), machine::load_average()));
    eprintln!("fire: {} reminders due at once…", options.n_fired);
    let before = receiver.deliveries().len();
    let started = Instant::now();
    clock.set(datetime!(2024-12-11 08:00 +7));
    receiver
        .wait_for_deliveries(before + options.n_fired, Duration::from_secs(300))
        .await
        .map_err(|timed_out| anyhow!("the fired reminders did not all arrive: {timed_out}"))?;
    let fire_seconds = started.elapsed().as_secs_f64();
    let fire_duplicates = receiver.n_duplicates();
    cancel.cancel();
    let _ = dispatcher.await;

    load.push(("raw".to_owned(), machine::load_average()));
    eprintln!("raw: signed POSTs straight to the receiver…");
    let (raw_requests, raw_seconds) = raw_posts(&receiver, options.n_fired, options.concurrency).await?;
    store.close().await;
    Ok(NotifyReport {
        machine: String::new(),
        location: scratch.describe(),
        n_tasks,
        write_seconds,
        n_occurrences,
        schedule_seconds,
        idle,
        n_fired: options.n_fired,
        fire_seconds,
        fire_duplicates,
        raw_requests,
        raw_seconds,
        concurrency: options.concurrency,
        load,
    })
}

/// For each instant at which idle-phase reminders fall due, in order: the clock is set just before it, and each
/// reminder's arrival is timed from the instant it became due.
async fn idle_delays(
    service: &NotificationService,
    receiver: &WebhookReceiver,
    clock: &RunningClock,
) -> anyhow::Result<Latency> {
    let mut instants: BTreeMap<OffsetDateTime, usize> = BTreeMap::new();
    for (_, due_at) in service.store.occurrences().await? {
        if due_at < datetime!(2024-12-11 08:00 +7) {
            *instants.entry(due_at).or_default() += 1;
        }
    }
    let mut histogram = Histogram::<u64>::new(3)?;
    let lead = Duration::from_millis(300);
    for (due_at, n_due) in instants {
        let before = receiver.deliveries().len();
        clock.set(due_at - lead);
        let became_due = Instant::now() + lead;
        for n_arrived in 1..=n_due {
            receiver
                .wait_for_deliveries(before + n_arrived, Duration::from_secs(30))
                .await
                .map_err(|timed_out| anyhow!("an idle-phase reminder did not arrive: {timed_out}"))?;
            let delay = Instant::now().saturating_duration_since(became_due);
            histogram.record(delay.as_micros() as u64)?;
        }
    }
    Ok(Latency::of(&histogram))
}

/// `n_requests` signed POSTs of a reminder-sized body to the receiver, `concurrency` at a time: its own rate.
async fn raw_posts(receiver: &WebhookReceiver, n_requests: usize, concurrency: usize) -> anyhow::Result<(usize, f64)> {
    use futures_util::stream::{self, StreamExt};
    let secret = WebhookSecret::parse(SECRET)?;
    let body = receiver.deliveries().first().map(|delivery| delivery.body.clone()).unwrap_or_default();
    let client = reqwest::Client::new();
    let url = receiver.url("/hooks/raw");
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = stream::iter(0..n_requests)
        .map(|_| {
            let (client, url, body, secret) = (client.clone(), url.clone(), body.clone(), secret.clone());
            async move {
                let webhook_id = Uuid::new_v4().to_string();
                let timestamp = OffsetDateTime::now_utc().unix_timestamp();
                let signature = sign(&secret, &webhook_id, timestamp, &body);
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("webhook-id", webhook_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(body)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("the receiver answered {}", response.status());
                }
                Ok(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok((n_requests, seconds))
}

/// Assigns one task per deadline, in plans of 500, each assignment decided by the domain and appended as the
/// command service appends it (the plan's registration and the task's first event in one request).
async fn write_tasks(store: &dyn EventStore, deadlines: &[Deadline]) -> anyhow::Result<()> {
    let actor = planner();
    let store_actor = event_store::Actor {
        id: actor.id.clone(),
        name: actor.name.clone(),
        unit: actor.unit.to_string(),
        role: actor.role.as_str().to_owned(),
    };
    for (plan_index, chunk) in deadlines.chunks(TASKS_PER_PLAN).enumerate() {
        let plan_id = PlanId(Uuid::now_v7());
        let created = domain::plan::create_plan(
            None,
            CreatePlan {
                plan_id,
                agency: unit("SO-KHCN")?,
                year: 2024,
                title: text(&format!("Danh mục nhiệm vụ năm 2024, phần {}", plan_index + 1))?,
                basis: Vec::new(),
                sections: vec![Section { code: section("I")?, title: text("NHIỆM VỤ TRỌNG TÂM")? }],
            },
            &actor,
        )
        .map_err(|error| anyhow!("{error}"))?;
        let mut plan: Plan = Plan::fold(&created).context("a created plan folds")?;
        let mut plan_events: Vec<PlanEvent> = created;
        let mut task_streams = Vec::new();
        for (index, deadline) in chunk.iter().enumerate() {
            let task_id = TaskId(Uuid::now_v7());
            let (registered, assigned) = domain::plan::assign_task(
                &plan,
                None,
                AssignTask {
                    task_id,
                    section: section("I")?,
                    number: TaskNumber::parse(&(index + 1).to_string()).map_err(|error| anyhow!("{error}"))?,
                    parent_id: None,
                    title: format!("Nhiệm vụ số {}", index + 1),
                    target: None,
                    deadline: Some(*deadline),
                    lead_unit: unit("SO-KHCN")?,
                    coordinating_units: Vec::new(),
                    basis: Vec::new(),
                },
                &actor,
            )
            .map_err(|error| anyhow!("{error}"))?;
            if let PlanEvent::TaskRegistered(node) = &registered {
                plan.nodes.push(node.clone());
            }
            plan_events.push(registered);
            let event = domain::task::TaskEvent::TaskAssigned(assigned);
            task_streams.push(StreamAppend {
                stream_id: StreamId(task_id.stream_name()),
                expected_version: ExpectedVersion::NoStream,
                events: vec![command_service::ledger::new_event(&event, None).map_err(|error| anyhow!("{error}"))?],
            });
        }
        let mut streams = vec![StreamAppend {
            stream_id: StreamId(plan_id.stream_name()),
            expected_version: ExpectedVersion::NoStream,
            events: plan_events
                .iter()
                .map(|event| command_service::ledger::new_event(event, None).map_err(|error| anyhow!("{error}")))
                .collect::<anyhow::Result<_>>()?,
        }];
        streams.extend(task_streams);
        store
            .append(AppendRequest {
                command_id: Uuid::now_v7(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                actor: store_actor.clone(),
                idempotency: None,
                subject_id: plan_id.to_string(),
                subject_stream: StreamId(plan_id.stream_name()),
                streams,
            })
            .await
            .with_context(|| format!("cannot append plan {}", plan_index + 1))?;
    }
    Ok(())
}

/// A business clock that runs at the real pace from the instant it was last set to.
struct RunningClock {
    origin: Mutex<(OffsetDateTime, Instant)>,
}

impl RunningClock {
    fn at(instant: OffsetDateTime) -> RunningClock {
        RunningClock { origin: Mutex::new((instant, Instant::now())) }
    }

    fn set(&self, instant: OffsetDateTime) {
        *self.origin.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = (instant, Instant::now());
    }
}

impl Clock for RunningClock {
    fn now(&self) -> OffsetDateTime {
        let (instant, set_at) = *self.origin.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        instant + set_at.elapsed()
    }
}

fn render(report: &NotifyReport) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "== notifications on PostgreSQL: {}", report.location);
    let loads: Vec<String> = report.load.iter().map(|(phase, load)| format!("{phase} {load}")).collect();
    let _ = writeln!(text, "load average at the start of each phase: {}", loads.join("; "));
    let _ = writeln!(
        text,
        "ledger: {} task assignments written through the domain in {:.1} s",
        report.n_tasks, report.write_seconds
    );
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "1. schedule: {} occurrences derived from the events in {:.2} s = {:.0} occurrences/s",
        report.n_occurrences,
        report.schedule_seconds,
        report.n_occurrences as f64 / report.schedule_seconds.max(1e-9)
    );
    let idle = &report.idle;
    let _ = writeln!(
        text,
        "2. idle: {} reminders, from becoming due to arrival: p50 {}, p95 {}, p99 {}, max {}",
        idle.n,
        millis(idle.p50),
        millis(idle.p95),
        millis(idle.p99),
        millis(idle.max)
    );
    let _ = writeln!(
        text,
        "3. fire: {} reminders due at once delivered in {:.2} s = {:.0} deliveries/s ({} duplicate(s) at the receiver)",
        report.n_fired,
        report.fire_seconds,
        report.fire_per_second(),
        report.fire_duplicates
    );
    let _ = writeln!(
        text,
        "   raw limit: {} signed POSTs to the same receiver, {} at a time, in {:.2} s = {:.0} requests/s   fire at {:.2}× the raw limit",
        report.raw_requests,
        report.concurrency,
        report.raw_seconds,
        report.raw_per_second(),
        report.fire_per_second() / report.raw_per_second().max(1e-9)
    );
    let _ = writeln!(text, "targets:");
    for check in report.targets() {
        let verdict = if check.holds { "PASS" } else { "MISS" };
        let _ = writeln!(text, "  {verdict}  {}", check.description);
    }
    text
}
