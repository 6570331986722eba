//! The dispatcher: claims due deliveries, decides each one on the state of things now, sends it, records the
//! outcome as an event, and marks it — in that order, so that a crash at any point loses nothing.
//!
//! One round ([`Dispatcher::dispatch_once`]):
//! 1. **Claim** up to a batch of deliveries due at the business clock's now whose lease is free or expired
//!    (`store::NotifyStore::claim_due`: `FOR UPDATE SKIP LOCKED`, lease on the database clock).
//! 2. **Re-read** each task concerned from the event store (its stream folded by the domain), and for a report
//!    reminder each task the unit leads, to find those that still have no report for the period. A delivery claimed before (its lease
//!    expired) or attempted before also has its task's reminder stream read: an outcome already recorded for
//!    this attempt (a replica died after recording, before marking) is only marked, never sent again.
//! 3. **Decide**: a task done or awaiting confirmation, cancelled, transferred or suspended is not chased; a
//!    deadline that moved, a report filed, a request withdrawn, a later reminder of the same series also due
//!    (superseded), a disabled webhook endpoint: skipped with that reason. A delivery found due later than
//!    `late_after` follows its rule's catch-up policy: sent marked late, skipped as too old, or folded with the
//!    recipient's other late reminders into one digest. Outside working hours (the quiet hours) a delivery waits
//!    for the next working window, unless critical (escalations).
//! 4. **Mark started** (`attempt_started`, durable, only while this replica holds the lease), then **send** through
//!    its channel; up to `concurrency` deliveries (or digests) at once, marked started a window at a time, in one
//!    statement per window.
//! 5. As the sends return, **record** their outcomes on the tasks' reminder streams (`audit`), then **mark** the
//!    deliveries (sent, skipped, dead, or back to pending with their next attempt's time), only while this replica
//!    still holds their leases: those that returned within [`OUTCOME_FLUSH_INTERVAL`] of each other (or half a
//!    window of them) together, in one append and one statement, while other sends go on. A replica never has
//!    more than twice `concurrency` messages started and not recorded. A delivery found started with no outcome
//!    (its replica died between the mark and the record) goes again as a redelivery, under the same id and
//!    flagged so.
//!
//! A transient failure is retried on the channels' `RetryLadder` (the wait drawn with a jitter derived from the
//! delivery id); a permanent one, or the last attempt, sends the delivery to the dead letters. A webhook endpoint
//! that fails `disable_endpoint_after` times in a row, across deliveries, is disabled until an operator enables
//! it again; its deliveries are then skipped (`endpoint_disabled`). Nothing a far side does crashes the loop.
//!
//! Overdue reminders are derived one step at a time: when a step is done with, the next is derived (and the steps
//! an outage left behind, which are then superseded by the latest).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::deadline::civil_date_at;
use domain::ids::{PlanId, TaskId};
use domain::plan::{PlanEvent, TaskRegistered};
use domain::reminder::{ReminderEvent, ReminderFailed, ReminderSent, ReminderSkipped, SkipReason};
use domain::task::{Lifecycle, Recorded, Task, TaskEvent};
use event_store::{EventStore, StreamId};
use futures_util::stream::{self, FuturesUnordered, StreamExt};
use http_api::Clock;
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::audit::{reminder_event_id, OutcomeRecord, ReminderRecorder};
use crate::calendar::WorkingHours;
use crate::channel::{Channel, ChannelKind, Delivery, DeliveryError, Reminder, ReminderKind, TaskRef};
use crate::channels::retry::RetryLadder;
use crate::rules::RuleSet;
use crate::schedule::{Scheduler, TaskFacts};
use crate::store::{
    channel_name, vietnam_text, Audience, CatchUpPolicy, ClaimedDelivery, DeadLetter, FinalStatus, NotifyStore,
    Occurrence, OccurrenceKind, StoreError,
};

/// How the dispatcher works; [`DispatcherConfig::from_rules`] takes what the rule file says.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// This replica's name in leases (unique per process).
    pub owner: String,
    pub lease: Duration,
    /// Most deliveries claimed per round.
    pub batch_size: usize,
    /// Most deliveries being sent at once.
    pub concurrency: usize,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_interval: Duration,
    /// A delivery sent more than this after it fell due is late, and its rule's catch-up policy applies.
    pub late_after: time::Duration,
    pub quiet_hours: WorkingHours,
    pub retry: RetryLadder,
    /// A webhook endpoint is disabled after this many failures in a row.
    pub disable_endpoint_after: u32,
    /// The daily digest's time of day, when the rules ask for one: every reminder but critical ones waits for the
    /// recipient's next digest and goes out folded into it.
    pub daily_digest_at: Option<time::Time>,
}

impl DispatcherConfig {
    pub fn from_rules(rules: &RuleSet, owner: String) -> DispatcherConfig {
        let retry = match &rules.retry_ladder {
            Some(waits) => RetryLadder { waits_after_failure: waits.clone(), ..RetryLadder::default() },
            None => RetryLadder::default(),
        };
        DispatcherConfig {
            owner,
            lease: rules.lease,
            batch_size: 256,
            concurrency: 32,
            poll_interval: rules.poll_interval,
            late_after: time::Duration::try_from(rules.late_after).unwrap_or(time::Duration::MAX),
            quiet_hours: rules.quiet_hours,
            retry,
            disable_endpoint_after: rules.disable_endpoint_after,
            daily_digest_at: rules.digest.enabled.then_some(rules.digest.send_at),
        }
    }
}

/// A replica name: host, process id and a random suffix.
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}-{}-{}", host.trim(), std::process::id(), &Uuid::new_v4().simple().to_string()[..8])
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the event store: {0}")]
    Events(#[from] event_store::StoreError),
    #[error("cannot record reminder outcomes: {0}")]
    Record(#[from] event_store::AppendError),
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub n_claimed: usize,
    pub n_sent: usize,
    pub n_failed: usize,
    pub n_skipped: usize,
    pub n_dead: usize,
    pub n_deferred: usize,
}

impl RoundReport {
    /// Adds what part of a round did.
    fn add(&mut self, part: &RoundReport) {
        self.n_claimed += part.n_claimed;
        self.n_sent += part.n_sent;
        self.n_failed += part.n_failed;
        self.n_skipped += part.n_skipped;
        self.n_dead += part.n_dead;
        self.n_deferred += part.n_deferred;
    }
}

/// Sends due deliveries.
pub struct Dispatcher {
    notify: NotifyStore,
    events: Arc<dyn EventStore>,
    recorder: ReminderRecorder,
    scheduler: Arc<Scheduler>,
    clock: Arc<dyn Clock>,
    channels: HashMap<ChannelKind, Arc<dyn Channel>>,
    config: DispatcherConfig,
}

/// What to do with a claimed delivery.
#[derive(Debug, Clone)]
enum Plan {
    /// Its outcome for this attempt is recorded already: mark it so.
    AlreadyRecorded(FinalStatus),
    /// Recorded skipped, for this reason, on these tasks' reminder streams.
    Skip {
        reason: SkipReason,
        detail: String,
        streams: Vec<Uuid>,
    },
    /// Not now: at this instant (quiet hours).
    Defer(OffsetDateTime),
    /// The task (or tasks) it is about cannot be read now: give it back, untouched, for the next round.
    Release,
    Send {
        reminder: Reminder,
        streams: Vec<Uuid>,
    },
    /// Late, with the digest catch-up policy: into the recipient's digest.
    Fold {
        reminder: Reminder,
        streams: Vec<Uuid>,
    },
}

/// What sending answered, for one delivery.
struct Sending {
    claimed: ClaimedDelivery,
    reminder: Reminder,
    streams: Vec<Uuid>,
    digest: bool,
    subject: String,
    result: Result<crate::channel::Receipt, DeliveryError>,
}

impl Dispatcher {
    pub fn new(
        notify: NotifyStore,
        events: Arc<dyn EventStore>,
        scheduler: Arc<Scheduler>,
        clock: Arc<dyn Clock>,
        channels: Vec<Arc<dyn Channel>>,
        config: DispatcherConfig,
    ) -> Dispatcher {
        Dispatcher {
            notify,
            recorder: ReminderRecorder::new(events.clone()),
            events,
            scheduler,
            clock,
            channels: channels.into_iter().map(|channel| (channel.kind(), channel)).collect(),
            config,
        }
    }

    pub fn config(&self) -> &DispatcherConfig {
        &self.config
    }

    /// Rounds until cancelled: at once while there is work, every `poll_interval` otherwise. A failing round is
    /// logged and tried again; the deliveries it claimed come back when their leases expire.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        tracing::info!(owner = %self.config.owner, "dispatcher started");
        while !cancel.is_cancelled() {
            let busy = match self.dispatch_once().await {
                Ok(report) => report.n_claimed == self.config.batch_size,
                Err(error) => {
                    tracing::warn!(owner = %self.config.owner, %error, "dispatch round failed; retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            if let Ok(n_due) = self.notify.n_due(self.clock.now()).await {
                metrics::gauge!("taskledger_notification_due_backlog").set(n_due as f64);
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!(owner = %self.config.owner, "dispatcher stopped");
    }

    /// One round: claim, re-read, decide, send, record, mark.
    #[tracing::instrument(skip_all, fields(owner = %self.config.owner, n_claimed = tracing::field::Empty))]
    pub async fn dispatch_once(&self) -> Result<RoundReport, DispatchError> {
        let now = self.clock.now();
        let claimed = self.notify.claim_due(now, &self.config.owner, self.config.lease, self.config.batch_size).await?;
        let mut report = RoundReport { n_claimed: claimed.len(), ..RoundReport::default() };
        tracing::Span::current().record("n_claimed", claimed.len());
        if claimed.is_empty() {
            return Ok(report);
        }
        let context = self.read_context(&claimed).await?;
        let mut records: Vec<OutcomeRecord> = Vec::new();
        let mut finishes: Vec<Finish> = Vec::new();
        let mut to_send: Vec<Decided> = Vec::new();
        let mut to_fold: BTreeMap<DigestKey, Vec<Decided>> = BTreeMap::new();
        for delivery in claimed {
            let attempt = delivery.attempts_before + 1;
            match self.plan(&delivery, &context, now) {
                Plan::AlreadyRecorded(status) => {
                    finishes.push(Finish::Final { delivery, status, attempts: attempt, outcome: "recorded before" })
                }
                Plan::Skip { reason, detail, streams } => {
                    report.n_skipped += 1;
                    count("skipped", delivery.channel, reason.as_str());
                    records.extend(outcome_records(
                        &streams,
                        &delivery.delivery_id,
                        attempt,
                        skipped_event(&delivery, reason, &detail),
                    ));
                    finishes.push(Finish::Final {
                        delivery,
                        status: FinalStatus::Skipped,
                        attempts: attempt - 1,
                        outcome: reason.as_str(),
                    });
                }
                Plan::Defer(until) => {
                    report.n_deferred += 1;
                    finishes.push(Finish::Retry {
                        delivery,
                        attempts: attempt - 1,
                        not_before: until,
                        outcome: "quiet hours",
                    });
                }
                Plan::Release => {
                    finishes.push(Finish::Retry {
                        not_before: delivery.not_before,
                        attempts: attempt - 1,
                        delivery,
                        outcome: "task not readable yet",
                    });
                }
                Plan::Send { reminder, streams } => to_send.push(Decided { delivery, reminder, streams }),
                Plan::Fold { reminder, streams } => to_fold
                    .entry((
                        delivery.recipient.id.clone(),
                        channel_name(delivery.channel),
                        delivery.address.clone(),
                        delivery.digest_id.clone().filter(|_| delivery.redelivery),
                    ))
                    .or_default()
                    .push(Decided { delivery, reminder, streams }),
            }
        }

        // What needs no sending is recorded and marked first; then the jobs (one delivery, or one digest) are sent
        // in windows, their outcomes recorded as they return (`send_in_windows`).
        self.recorder.record(&records).await?;
        let follow_ups: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        self.mark(finishes, now, &context, &follow_ups).await?;
        let mut jobs: Vec<Job> = to_send.into_iter().map(|decided| Job::Single(Box::new(decided))).collect();
        jobs.extend(to_fold.into_values().map(Job::Digest));
        let (sent, error) = self.send_in_windows(jobs, &context, now, &follow_ups).await;
        report.add(&sent);
        match error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Sends jobs, at most `concurrency` at once, and records and marks their outcomes as they return; the marks,
    /// the sends and the records overlap. A window of jobs is marked started in one statement, once half the
    /// sending slots are free (or none is busy, or it is the last jobs); the outcomes of the sends that returned are
    /// recorded in one append and marked in one statement, once half a window has returned,
    /// [`OUTCOME_FLUSH_INTERVAL`] after the first of them, or when nothing else is being sent. No window starts
    /// that would bring the messages started (or being marked) and not yet recorded above twice the concurrency (a
    /// digest counts once, with its members): that is all a replica dying at any instant leaves to be sent again,
    /// each with a durable mark that makes the next claimant send it as a redelivery. Answers what was done and
    /// the first error; after an error no further window starts, and the deliveries left claimed come back when
    /// their leases expire.
    async fn send_in_windows(
        &self,
        jobs: Vec<Job>,
        context: &Context,
        now: OffsetDateTime,
        follow_ups: &Mutex<HashSet<String>>,
    ) -> (RoundReport, Option<DispatchError>) {
        let concurrency = self.config.concurrency.max(1);
        let most_unrecorded = 2 * concurrency;
        let mut waiting: VecDeque<Job> = jobs.into();
        let mut starting = FuturesUnordered::new();
        let mut n_starting = 0;
        let mut in_flight = FuturesUnordered::new();
        let mut returned: Vec<Vec<Sending>> = Vec::new();
        let mut first_returned_at: Option<tokio::time::Instant> = None;
        let mut flushing = FuturesUnordered::new();
        let mut n_flushing = 0;
        let mut report = RoundReport::default();
        let mut first_error: Option<DispatchError> = None;
        loop {
            let n_busy = n_starting + in_flight.len();
            let n_unrecorded = n_busy + returned.len() + n_flushing;
            let n_free = (concurrency - n_busy).min(most_unrecorded - n_unrecorded).min(waiting.len());
            if n_free > 0 && (2 * n_free >= concurrency || n_busy == 0 || n_free == waiting.len()) {
                let window: Vec<Job> = waiting.drain(..n_free).collect();
                n_starting += n_free;
                starting.push(async move { (n_free, self.start_window(window, now).await) });
                continue;
            }
            let flush_due = first_returned_at.is_some_and(|at| at.elapsed() >= OUTCOME_FLUSH_INTERVAL);
            if !returned.is_empty() && (2 * returned.len() >= concurrency || n_busy == 0 || flush_due) {
                let n_returned = returned.len();
                let batch = std::mem::take(&mut returned);
                n_flushing += n_returned;
                first_returned_at = None;
                flushing.push(async move { (n_returned, self.settle_all(batch, context, now, follow_ups).await) });
                continue;
            }
            if n_busy == 0 && n_flushing == 0 && returned.is_empty() && waiting.is_empty() {
                return (report, first_error);
            }
            let flush_at = first_returned_at.map(|at| at + OUTCOME_FLUSH_INTERVAL);
            let progress = tokio::select! {
                Some((n_jobs, started)) = starting.next(), if !starting.is_empty() => {
                    Progress::Started(n_jobs, started)
                }
                Some(sendings) = in_flight.next(), if !in_flight.is_empty() => Progress::Returned(sendings),
                Some((n_messages, flushed)) = flushing.next(), if !flushing.is_empty() => {
                    Progress::Flushed(n_messages, flushed)
                }
                () = async {
                    match flush_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                }, if flush_at.is_some() => Progress::FlushDue,
            };
            match progress {
                Progress::Started(n_jobs, started) => {
                    n_starting -= n_jobs;
                    match started {
                        Ok(started) => {
                            for job in started {
                                in_flight.push(self.send_started(job, &context.endpoints));
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "sends not marked started; their leases will expire");
                            first_error.get_or_insert(error);
                            waiting.clear();
                        }
                    }
                }
                Progress::Returned(sendings) => {
                    returned.push(sendings);
                    first_returned_at.get_or_insert_with(tokio::time::Instant::now);
                }
                Progress::Flushed(n_messages, flushed) => {
                    n_flushing -= n_messages;
                    match flushed {
                        Ok(flushed) => report.add(&flushed),
                        Err(error) => {
                            tracing::warn!(%error, "outcomes not recorded; their deliveries' leases will expire");
                            first_error.get_or_insert(error);
                            waiting.clear();
                        }
                    }
                }
                Progress::FlushDue => {}
            }
        }
    }

    /// Records and marks the outcomes of sends that returned: one append, and the sent ones marked in one
    /// statement.
    async fn settle_all(
        &self,
        returned: Vec<Vec<Sending>>,
        context: &Context,
        now: OffsetDateTime,
        follow_ups: &Mutex<HashSet<String>>,
    ) -> Result<RoundReport, DispatchError> {
        let mut report = RoundReport::default();
        let mut records = Vec::new();
        let mut finishes = Vec::new();
        for sending in returned.into_iter().flatten() {
            self.settle(sending, context, now, &mut records, &mut finishes, &mut report).await;
        }
        self.recorder.record(&records).await?;
        self.mark(finishes, now, context, follow_ups).await?;
        Ok(report)
    }

    /// Marks finished deliveries: those sent (but overdue reminders, which derive their successor) in one
    /// statement, the others one by one.
    async fn mark(
        &self,
        finishes: Vec<Finish>,
        now: OffsetDateTime,
        context: &Context,
        follow_ups: &Mutex<HashSet<String>>,
    ) -> Result<(), DispatchError> {
        let (sent, others): (Vec<Finish>, Vec<Finish>) = finishes.into_iter().partition(|finish| {
            matches!(finish, Finish::Final { delivery, status: FinalStatus::Sent, .. }
                if delivery.occurrence.kind != OccurrenceKind::Overdue)
        });
        let sent_ids: Vec<String> = sent
            .iter()
            .filter_map(|finish| match finish {
                Finish::Final { delivery, .. } => Some(delivery.delivery_id.clone()),
                _ => None,
            })
            .collect();
        if !sent_ids.is_empty() {
            let n_marked = self.notify.finish_sent(&sent_ids, &self.config.owner, now).await?;
            if n_marked < sent_ids.len() as u64 {
                tracing::info!(
                    n_lost = sent_ids.len() as u64 - n_marked,
                    "leases lost before marking; the next claimants find the recorded outcomes"
                );
            }
        }
        for finish in others {
            self.apply_finish(finish, now, context, follow_ups).await?;
        }
        Ok(())
    }

    /// Tasks, report contexts and recorded outcomes for a batch. Every task is folded from the event store, those a
    /// report reminder is about included, so that what is decided is the state of the ledger now, not of the
    /// service's own tables (which follow it a little behind).
    async fn read_context(&self, claimed: &[ClaimedDelivery]) -> Result<Context, DispatchError> {
        let mut report_candidates: HashMap<String, ReportCandidates> = HashMap::new();
        for delivery in claimed.iter().filter(|delivery| delivery.occurrence.kind == OccurrenceKind::Report) {
            let key = delivery.occurrence.occurrence_key.clone();
            if let std::collections::hash_map::Entry::Vacant(entry) = report_candidates.entry(key) {
                entry.insert(self.report_candidates(delivery).await?);
            }
        }
        let task_ids: HashSet<Uuid> = claimed
            .iter()
            .filter_map(|delivery| delivery.occurrence.task_id)
            .chain(report_candidates.values().flat_map(|candidates| candidates.tasks.iter().map(|task| task.0)))
            .collect();
        let folded: Vec<(Uuid, Result<Option<Task>, String>)> = stream::iter(task_ids)
            .map(|task_id| async move { (task_id, self.read_task(task_id).await) })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let mut tasks = HashMap::new();
        for (task_id, task) in folded {
            match task {
                Ok(Some(task)) => {
                    tasks.insert(task_id, task);
                }
                Ok(None) => {}
                Err(reason) => tracing::warn!(%task_id, %reason, "task cannot be read; its deliveries wait"),
            }
        }
        let mut reports = HashMap::new();
        for delivery in claimed.iter().filter(|delivery| delivery.occurrence.kind == OccurrenceKind::Report) {
            let key = &delivery.occurrence.occurrence_key;
            if reports.contains_key(key) {
                continue;
            }
            if let Some(report) = report_context(&delivery.occurrence, &report_candidates[key], &tasks) {
                reports.insert(key.clone(), report);
            }
        }
        let plan_ids: HashSet<Uuid> = claimed.iter().map(|delivery| delivery.occurrence.plan_id).collect();
        let mut plan_titles = HashMap::new();
        for plan_id in plan_ids {
            let row = sqlx::query("SELECT title FROM notify_plans WHERE plan_id = $1")
                .bind(plan_id.to_string())
                .fetch_optional(self.notify.db().pool())
                .await
                .map_err(StoreError::from)?;
            let title = row.map(|row| row.try_get::<String, _>(0)).transpose().map_err(StoreError::from)?;
            plan_titles.insert(plan_id, title.unwrap_or_default());
        }
        let mut recorded = HashMap::new();
        for delivery in claimed.iter().filter(|delivery| delivery.n_claims > 1 || delivery.attempts_before > 0) {
            for task_id in self.streams_of(delivery, &tasks, &reports) {
                if let std::collections::hash_map::Entry::Vacant(entry) = recorded.entry(task_id) {
                    entry.insert(self.recorder.recorded_event_ids(task_id).await?);
                }
            }
        }
        let mut endpoints = EndpointHealthNow::default();
        if claimed.iter().any(|delivery| delivery.channel == ChannelKind::Webhook) {
            for endpoint in self.notify.endpoints().await? {
                if endpoint.disabled {
                    endpoints.disabled.insert(endpoint.endpoint.clone(), endpoint.disabled_reason.unwrap_or_default());
                }
                if endpoint.consecutive_failures > 0 {
                    endpoints.failing.insert(endpoint.endpoint);
                }
            }
        }
        Ok(Context { tasks, reports, plan_titles, recorded, endpoints })
    }

    /// The task folded from its stream, as the store has it now.
    async fn read_task(&self, task_id: Uuid) -> Result<Option<Task>, String> {
        let stored = self
            .events
            .read_stream(&StreamId(TaskId(task_id).stream_name()), 0)
            .await
            .map_err(|error| error.to_string())?;
        let mut task = None;
        for event in &stored {
            let decoded: TaskEvent = projection::models::decode(event).map_err(|error| error.to_string())?;
            let recorded = Recorded {
                position: event.global_position,
                recorded_at: event.recorded_at,
                actor_id: event.actor.id.clone(),
                actor_name: event.actor.name.clone(),
                actor_unit: event.actor.unit.clone(),
                actor_role: event.actor.role.clone(),
            };
            task = Task::evolve(task, &decoded, &recorded);
        }
        Ok(task)
    }

    /// Whether a report reminder's request was withdrawn, and the tasks of its plan the unit may lead: those the
    /// service's tables say it leads, and those registered on the plan's stream that the tables do not know yet
    /// (assigned a moment ago). Each is folded from the event store before anything is decided, and kept only if
    /// the unit leads it then.
    async fn report_candidates(&self, delivery: &ClaimedDelivery) -> Result<ReportCandidates, DispatchError> {
        let occurrence = &delivery.occurrence;
        let request_withdrawn = match occurrence.occurrence_key.split(":request-").nth(1) {
            Some(rest) => {
                let request_id = rest.split(':').next().unwrap_or_default();
                let row = sqlx::query("SELECT withdrawn FROM notify_report_requests WHERE request_id = $1")
                    .bind(request_id.to_owned())
                    .fetch_optional(self.notify.db().pool())
                    .await
                    .map_err(StoreError::from)?;
                row.map(|row| row.try_get::<i64, _>(0)).transpose().map_err(StoreError::from)? == Some(1)
            }
            None => false,
        };
        // The plan's tasks as the ledger has them: a task assigned a moment ago is registered on the plan's stream
        // in the same append, before the consumer has put it in `notify_tasks`.
        let stored = self.events.read_stream(&StreamId(PlanId(occurrence.plan_id).stream_name()), 0).await?;
        let mut registered: Vec<TaskRegistered> = Vec::new();
        for event in stored.iter().filter(|event| event.event_type == "TaskRegistered") {
            match projection::models::decode::<PlanEvent, _>(event) {
                Ok(PlanEvent::TaskRegistered(task)) => registered.push(task),
                Ok(_) => {}
                Err(error) => return Err(StoreError::Corrupt(error.to_string()).into()),
            }
        }
        let has_indicators =
            |task_id: Uuid| registered.iter().any(|task| task.parent_id.is_some_and(|parent| parent.0 == task_id));
        let rows = sqlx::query("SELECT task_id, lead_unit FROM notify_tasks WHERE plan_id = $1 ORDER BY number")
            .bind(occurrence.plan_id.to_string())
            .fetch_all(self.notify.db().pool())
            .await
            .map_err(StoreError::from)?;
        let mut known = HashSet::new();
        let mut tasks = Vec::new();
        for row in &rows {
            let task_id: String = row.try_get(0).map_err(StoreError::from)?;
            let task_id = Uuid::parse_str(&task_id).map_err(|error| StoreError::Corrupt(error.to_string()))?;
            let lead_unit: String = row.try_get(1).map_err(StoreError::from)?;
            known.insert(task_id);
            if lead_unit == occurrence.unit {
                tasks.push((task_id, has_indicators(task_id)));
            }
        }
        // Tasks the service's tables do not know yet: folded like the others, and kept if the unit leads them.
        for task in registered.iter().filter(|task| !known.contains(&task.task_id.0)) {
            tasks.push((task.task_id.0, has_indicators(task.task_id.0)));
        }
        Ok(ReportCandidates { request_withdrawn, tasks })
    }

    /// The reminder streams a delivery's outcome is recorded on: its task's, or for a report reminder those of
    /// the unit's tasks it is about (every task of the unit when none is left without a report).
    fn streams_of(
        &self,
        delivery: &ClaimedDelivery,
        tasks: &HashMap<Uuid, Task>,
        reports: &HashMap<String, ReportContext>,
    ) -> Vec<Uuid> {
        match delivery.occurrence.task_id {
            Some(task_id) => {
                let _ = tasks;
                vec![task_id]
            }
            None => match reports.get(&delivery.occurrence.occurrence_key) {
                Some(report) if !report.unreported.is_empty() => {
                    report.unreported.iter().map(|task| task.task_id).collect()
                }
                Some(report) => report.all_tasks.clone(),
                None => Vec::new(),
            },
        }
    }

    /// Decides one claimed delivery.
    fn plan(&self, delivery: &ClaimedDelivery, context: &Context, now: OffsetDateTime) -> Plan {
        let occurrence = &delivery.occurrence;
        let attempt = delivery.attempts_before + 1;
        let streams = self.streams_of(delivery, &context.tasks, &context.reports);
        // An outcome of this attempt recorded by an earlier claimant is final.
        for task_id in &streams {
            if let Some(recorded) = context.recorded.get(task_id) {
                let id = |event_type: &str| reminder_event_id(&delivery.delivery_id, attempt, event_type, *task_id);
                if recorded.contains(&id("ReminderSent")) {
                    return Plan::AlreadyRecorded(FinalStatus::Sent);
                }
                if recorded.contains(&id("ReminderSkipped")) {
                    return Plan::AlreadyRecorded(FinalStatus::Skipped);
                }
            }
        }
        let skip = |reason: SkipReason, detail: String| Plan::Skip { reason, detail, streams: streams.clone() };
        let (kind, tasks) = match occurrence.kind {
            OccurrenceKind::Deadline | OccurrenceKind::Overdue => {
                let Some(task_id) = occurrence.task_id else {
                    return skip(SkipReason::NoRecipient, "the occurrence names no task".to_owned());
                };
                let Some(task) = context.tasks.get(&task_id) else { return Plan::Release };
                match task.lifecycle {
                    Lifecycle::Done | Lifecycle::AwaitingConfirmation => {
                        return skip(SkipReason::TaskCompleted, String::new())
                    }
                    Lifecycle::Cancelled => return skip(SkipReason::TaskCancelled, String::new()),
                    Lifecycle::Transferred => return skip(SkipReason::TaskTransferred, String::new()),
                    Lifecycle::Suspended => return skip(SkipReason::TaskSuspended, String::new()),
                    Lifecycle::Open => {}
                }
                let deadline_now = task.deadline.map(|deadline| deadline.code());
                if deadline_now != occurrence.deadline {
                    let shown =
                        task.deadline.map_or_else(|| "Thường xuyên".to_owned(), |deadline| deadline.vietnamese());
                    return skip(SkipReason::DeadlineChanged, format!("the deadline is now {shown}"));
                }
                let Some(deadline) = task.deadline else {
                    return skip(SkipReason::DeadlineChanged, "the task has no deadline any more".to_owned());
                };
                let kind = if occurrence.kind == OccurrenceKind::Deadline {
                    ReminderKind::DeadlineApproaching { working_days_left: occurrence.step as u32 }
                } else {
                    let days_overdue = (civil_date_at(now) - deadline.due_date()).whole_days().max(0) as u32;
                    ReminderKind::Overdue { days_overdue, escalated: is_escalation(delivery) }
                };
                let plan_title = context.plan_titles.get(&occurrence.plan_id).cloned().unwrap_or_default();
                (kind, vec![task_ref(task, plan_title)])
            }
            OccurrenceKind::Report => {
                let Some(report) = context.reports.get(&occurrence.occurrence_key) else { return Plan::Release };
                if report.request_withdrawn {
                    return skip(SkipReason::RequestWithdrawn, String::new());
                }
                if report.unreported.is_empty() {
                    return skip(SkipReason::ReportFiled, String::new());
                }
                let plan_title = context.plan_titles.get(&occurrence.plan_id).cloned().unwrap_or_default();
                let tasks = report
                    .unreported
                    .iter()
                    .map(|task| TaskRef { plan_title: plan_title.clone(), ..task.clone() })
                    .collect();
                let cut_off = occurrence
                    .cut_off
                    .as_deref()
                    .and_then(|date| domain::deadline::parse_date_iso(date).ok())
                    .unwrap_or_else(|| civil_date_at(occurrence.due_at));
                (ReminderKind::ReportDue { cut_off, period: occurrence.period.clone().unwrap_or_default() }, tasks)
            }
        };
        if delivery.superseded || self.next_overdue_is_due(delivery, context, now) {
            return skip(SkipReason::Superseded, "a later reminder of the same series is due".to_owned());
        }
        // With a daily digest, a reminder goes out in the first digest at or after its time.
        let digest_at = match self.config.daily_digest_at {
            Some(send_at) if !occurrence.critical => Some(self.digest_instant(occurrence.due_at, send_at)),
            _ => None,
        };
        if let Some(digest_at) = digest_at {
            if now < digest_at {
                return Plan::Defer(digest_at);
            }
        }
        let on_time_until = digest_at.unwrap_or(occurrence.due_at) + self.config.late_after;
        let late = now > on_time_until;
        let reminder = Reminder {
            occurrence_key: occurrence.occurrence_key.clone(),
            rule: occurrence.rule.clone(),
            kind,
            tasks,
            due_at: occurrence.due_at,
            late,
            critical: occurrence.critical,
        };
        let mut fold = digest_at.is_some();
        if late {
            match occurrence.catch_up {
                CatchUpPolicy::SendLate => {}
                CatchUpPolicy::SkipOlderThan { seconds } => {
                    let late_by = now - digest_at.unwrap_or(occurrence.due_at);
                    if late_by > time::Duration::seconds(seconds) {
                        return skip(
                            SkipReason::TooOld,
                            format!("due {}, {} hours before", vietnam_text(occurrence.due_at), late_by.whole_hours()),
                        );
                    }
                }
                CatchUpPolicy::Digest => fold = true,
            }
        }
        if !occurrence.critical && !self.config.quiet_hours.contains(self.scheduler.calendar(), now) {
            return Plan::Defer(self.config.quiet_hours.next_delivery_instant(self.scheduler.calendar(), now));
        }
        if fold {
            Plan::Fold { reminder, streams }
        } else {
            Plan::Send { reminder, streams }
        }
    }

    /// The first daily digest at or after `due_at`: `send_at` on a working day.
    fn digest_instant(&self, due_at: OffsetDateTime, send_at: time::Time) -> OffsetDateTime {
        let calendar = self.scheduler.calendar();
        let mut day = civil_date_at(due_at);
        loop {
            let candidate = crate::calendar::vietnam_instant(day, send_at);
            if calendar.is_working_day(day) && candidate >= due_at {
                return candidate;
            }
            day = calendar.next_working_day(day);
        }
    }

    /// Whether the overdue reminder after this one is due already (it is derived only once this one is done
    /// with, so the store cannot say).
    fn next_overdue_is_due(&self, delivery: &ClaimedDelivery, context: &Context, now: OffsetDateTime) -> bool {
        let occurrence = &delivery.occurrence;
        if occurrence.kind != OccurrenceKind::Overdue {
            return false;
        }
        let Some(task) = occurrence.task_id.and_then(|task_id| context.tasks.get(&task_id)) else { return false };
        let facts = TaskFacts {
            task_id: task.task_id.0,
            plan_id: task.plan_id.0,
            lead_unit: task.lead_unit.to_string(),
            deadline: task.deadline,
        };
        self.scheduler
            .overdue_occurrence(&facts, occurrence.step as u32 + 1)
            .is_some_and(|next| next.occurrence.due_at <= now)
    }

    /// Marks the attempts of a window of jobs started: the single deliveries in one statement, each digest's
    /// members with the digest's id (the one it was started with when it is a redelivery, else a new id of the
    /// recipient's digests of the day). Answers the jobs to send, without the deliveries whose lease was lost.
    async fn start_window(&self, window: Vec<Job>, now: OffsetDateTime) -> Result<Vec<Started>, DispatchError> {
        let owner = &self.config.owner;
        let single_ids: Vec<&str> = window
            .iter()
            .filter_map(|job| match job {
                Job::Single(decided) => Some(decided.delivery.delivery_id.as_str()),
                Job::Digest(_) => None,
            })
            .collect();
        let started_singles = if single_ids.is_empty() {
            HashSet::new()
        } else {
            self.notify.start_attempts(&single_ids, owner, None).await?
        };
        let mut started = Vec::new();
        for job in window {
            match job {
                Job::Single(decided) => {
                    if started_singles.contains(&decided.delivery.delivery_id) {
                        started.push(Started::Single(decided));
                    } else {
                        let delivery_id = &decided.delivery.delivery_id;
                        tracing::info!(%delivery_id, "lease lost before sending; not sent");
                    }
                }
                Job::Digest(mut members) => {
                    let Some(first) = members.first().map(|member| &member.delivery) else { continue };
                    // A digest goes again under its first id only when it carries exactly what went under that id
                    // (the receiver drops a second message with an id it has): otherwise it is a new digest.
                    let original = match &first.digest_id {
                        Some(digest_id) if members.iter().all(|member| member.delivery.redelivery) => {
                            let same_digest =
                                members.iter().all(|member| member.delivery.digest_id.as_ref() == Some(digest_id));
                            let in_flight = self.notify.digest_members_in_flight(digest_id).await?;
                            let member_ids: HashSet<&str> =
                                members.iter().map(|member| member.delivery.delivery_id.as_str()).collect();
                            let whole = in_flight.len() == member_ids.len()
                                && in_flight.iter().all(|id| member_ids.contains(id.as_str()));
                            (same_digest && whole).then(|| digest_id.clone())
                        }
                        _ => None,
                    };
                    let redelivery = original.is_some();
                    let digest_id = match original {
                        Some(digest_id) => digest_id,
                        None => {
                            self.notify
                                .reserve_digest_id(
                                    &first.recipient.id,
                                    first.channel,
                                    &first.address,
                                    civil_date_at(now),
                                )
                                .await?
                        }
                    };
                    let member_ids: Vec<&str> =
                        members.iter().map(|member| member.delivery.delivery_id.as_str()).collect();
                    let marked = self.notify.start_attempts(&member_ids, owner, Some(&digest_id)).await?;
                    members.retain(|member| marked.contains(&member.delivery.delivery_id));
                    if members.is_empty() {
                        tracing::info!(%digest_id, "leases lost before sending the digest; not sent");
                    } else {
                        started.push(Started::Digest { digest_id, redelivery, members });
                    }
                }
            }
        }
        Ok(started)
    }

    /// Sends a started job's message; answers what was sent for each of its deliveries.
    async fn send_started(&self, job: Started, endpoints: &EndpointHealthNow) -> Vec<Sending> {
        match job {
            Started::Single(decided) => {
                let Decided { delivery, reminder, streams } = *decided;
                let message = crate::message::render(&reminder, &delivery.recipient);
                let subject = message.subject.clone();
                let outgoing = Outgoing { delivery_id: &delivery.delivery_id, redelivery: delivery.redelivery };
                let result = self.deliver(&delivery, &reminder, message, outgoing, endpoints).await;
                vec![Sending { claimed: delivery, reminder, streams, digest: false, subject, result }]
            }
            Started::Digest { digest_id, redelivery, members } => {
                let first = &members[0].delivery;
                let reminders: Vec<Reminder> = members.iter().map(|member| member.reminder.clone()).collect();
                let message = crate::message::render_digest(&reminders, &first.recipient);
                let subject = message.subject.clone();
                let digest_reminder = Reminder {
                    occurrence_key: format!("digest:{digest_id}"),
                    rule: "digest".to_owned(),
                    tasks: reminders.iter().flat_map(|reminder| reminder.tasks.clone()).collect(),
                    ..reminders[reminders.len() - 1].clone()
                };
                let outgoing = Outgoing { delivery_id: &digest_id, redelivery };
                let result = self.deliver(first, &digest_reminder, message, outgoing, endpoints).await;
                members
                    .into_iter()
                    .map(|Decided { delivery, reminder, streams }| Sending {
                        claimed: delivery,
                        reminder,
                        streams,
                        digest: true,
                        subject: subject.clone(),
                        result: result.clone(),
                    })
                    .collect()
            }
        }
    }

    /// One message through its channel; a disabled endpoint or a channel this process lacks is answered without
    /// sending.
    #[tracing::instrument(skip_all, fields(
        occurrence_key = %reminder.occurrence_key, delivery_id = %outgoing.delivery_id,
        redelivery = outgoing.redelivery, channel = channel_name(claimed.channel)
    ))]
    async fn deliver(
        &self,
        claimed: &ClaimedDelivery,
        reminder: &Reminder,
        message: crate::channel::Message,
        outgoing: Outgoing<'_>,
        endpoints: &EndpointHealthNow,
    ) -> Result<crate::channel::Receipt, DeliveryError> {
        let Some(channel) = self.channels.get(&claimed.channel) else {
            return Err(DeliveryError::Permanent(format!(
                "no {} channel is configured in this process",
                channel_name(claimed.channel)
            )));
        };
        if claimed.channel == ChannelKind::Webhook {
            if let Some(reason) = endpoints.disabled.get(&claimed.address) {
                return Err(DeliveryError::Permanent(format!("{ENDPOINT_DISABLED}: {reason}")));
            }
        }
        let delivery = Delivery {
            delivery_id: outgoing.delivery_id.to_owned(),
            attempt: claimed.attempts_before + 1,
            redelivery: outgoing.redelivery,
            channel: claimed.channel,
            address: claimed.address.clone(),
            recipient: claimed.recipient.clone(),
            reminder: reminder.clone(),
            message,
        };
        channel.deliver(&delivery).await
    }

    /// Turns what a channel answered into the outcome to record and how to mark the delivery.
    async fn settle(
        &self,
        sending: Sending,
        context: &Context,
        now: OffsetDateTime,
        records: &mut Vec<OutcomeRecord>,
        finishes: &mut Vec<Finish>,
        report: &mut RoundReport,
    ) {
        let Sending { claimed, reminder, streams, digest, subject, result } = sending;
        let attempt = claimed.attempts_before + 1;
        let occurrence = &claimed.occurrence;
        let kind = recorded_kind(&claimed).to_owned();
        match result {
            Ok(receipt) => {
                report.n_sent += 1;
                count("sent", claimed.channel, "");
                metrics::histogram!("taskledger_notification_delay_seconds", "channel" => channel_name(claimed.channel))
                    .record((now - occurrence.due_at).as_seconds_f64().max(0.0));
                if claimed.channel == ChannelKind::Webhook && context.endpoints.failing.contains(&claimed.address) {
                    if let Err(error) = self.notify.endpoint_succeeded(&claimed.address).await {
                        tracing::warn!(endpoint = %claimed.address, %error, "endpoint health not updated");
                    }
                }
                tracing::debug!(delivery_id = %claimed.delivery_id, detail = %receipt.detail, "reminder sent");
                records.extend(outcome_records(
                    &streams,
                    &claimed.delivery_id,
                    attempt,
                    ReminderEvent::ReminderSent(ReminderSent {
                        occurrence_key: occurrence.occurrence_key.clone(),
                        rule: occurrence.rule.clone(),
                        kind: kind.clone(),
                        channel: channel_name(claimed.channel).to_owned(),
                        recipient: claimed.recipient.id.clone(),
                        address: claimed.address.clone(),
                        attempt,
                        late: reminder.late,
                        digest,
                        due_at: occurrence.due_at,
                        detail: subject.clone(),
                    }),
                ));
                finishes.push(Finish::Final {
                    delivery: claimed,
                    status: FinalStatus::Sent,
                    attempts: attempt,
                    outcome: "sent",
                });
            }
            Err(error) if error_is_disabled_endpoint(&error) => {
                report.n_skipped += 1;
                count("skipped", claimed.channel, SkipReason::EndpointDisabled.as_str());
                records.extend(outcome_records(
                    &streams,
                    &claimed.delivery_id,
                    attempt,
                    skipped_event(&claimed, SkipReason::EndpointDisabled, ""),
                ));
                finishes.push(Finish::Final {
                    delivery: claimed,
                    status: FinalStatus::Skipped,
                    attempts: attempt - 1,
                    outcome: SkipReason::EndpointDisabled.as_str(),
                });
            }
            Err(error) => {
                let (message, permanent) = match &error {
                    DeliveryError::Transient(message) => (message.clone(), false),
                    DeliveryError::Permanent(message) => (message.clone(), true),
                };
                if claimed.channel == ChannelKind::Webhook {
                    match self
                        .notify
                        .endpoint_failed(&claimed.address, self.config.disable_endpoint_after, &message)
                        .await
                    {
                        Ok(true) => {
                            metrics::counter!("taskledger_notification_endpoints_disabled_total").increment(1);
                            tracing::warn!(endpoint = %claimed.address, "webhook endpoint disabled after failing repeatedly");
                        }
                        Ok(false) => {}
                        Err(store_error) => {
                            tracing::warn!(endpoint = %claimed.address, %store_error, "endpoint health not updated")
                        }
                    }
                }
                let wait = if permanent {
                    None
                } else {
                    self.config.retry.jittered_wait_after(attempt, jitter_unit(&claimed.delivery_id, attempt))
                };
                let retry_at = wait.map(|wait| now + time::Duration::try_from(wait).unwrap_or(time::Duration::DAY));
                let dead = retry_at.is_none();
                tracing::warn!(
                    delivery_id = %claimed.delivery_id, channel = channel_name(claimed.channel), attempt, permanent,
                    dead_lettered = dead, error = %message, "delivery failed"
                );
                if dead {
                    report.n_dead += 1;
                    count("dead", claimed.channel, if permanent { "permanent" } else { "exhausted" });
                } else {
                    report.n_failed += 1;
                    count("failed", claimed.channel, "transient");
                }
                records.extend(outcome_records(
                    &streams,
                    &claimed.delivery_id,
                    attempt,
                    ReminderEvent::ReminderFailed(ReminderFailed {
                        occurrence_key: occurrence.occurrence_key.clone(),
                        rule: occurrence.rule.clone(),
                        kind: kind.clone(),
                        channel: channel_name(claimed.channel).to_owned(),
                        recipient: claimed.recipient.id.clone(),
                        address: claimed.address.clone(),
                        attempt,
                        error: message.clone(),
                        permanent,
                        retry_at,
                        dead_lettered: dead,
                        due_at: occurrence.due_at,
                    }),
                ));
                match retry_at {
                    Some(retry_at) => finishes.push(Finish::Retry {
                        delivery: claimed,
                        attempts: attempt,
                        not_before: retry_at,
                        outcome: "failed; retrying",
                    }),
                    None => finishes.push(Finish::Dead { delivery: claimed, attempts: attempt, error: message }),
                }
            }
        }
    }

    /// Marks a delivery, and derives the next overdue reminder once an overdue one is done with.
    async fn apply_finish(
        &self,
        finish: Finish,
        now: OffsetDateTime,
        context: &Context,
        follow_ups: &Mutex<HashSet<String>>,
    ) -> Result<(), DispatchError> {
        let owner = &self.config.owner;
        let (delivery, finished) = match finish {
            Finish::Final { delivery, status, attempts, outcome } => {
                let marked = self.notify.finish(&delivery.delivery_id, owner, status, attempts, outcome, now).await?;
                (delivery, marked)
            }
            Finish::Dead { delivery, attempts, error } => {
                self.notify
                    .insert_dead_letter(&DeadLetter {
                        delivery_id: delivery.delivery_id.clone(),
                        occurrence_key: delivery.occurrence.occurrence_key.clone(),
                        channel: channel_name(delivery.channel).to_owned(),
                        address: delivery.address.clone(),
                        attempts,
                        last_error: error.clone(),
                        dead_lettered_at: vietnam_text(now),
                    })
                    .await?;
                let marked =
                    self.notify.finish(&delivery.delivery_id, owner, FinalStatus::Dead, attempts, &error, now).await?;
                (delivery, marked)
            }
            Finish::Retry { delivery, attempts, not_before, outcome } => {
                self.notify.release(&delivery.delivery_id, owner, attempts, not_before, outcome).await?;
                return Ok(());
            }
        };
        if !finished {
            tracing::info!(delivery_id = %delivery.delivery_id, "lease lost before marking; the next claimant finds the recorded outcome");
        }
        let first_of_its_occurrence = || {
            follow_ups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(delivery.occurrence.occurrence_key.clone())
        };
        if delivery.occurrence.kind == OccurrenceKind::Overdue && first_of_its_occurrence() {
            self.derive_next_overdue(&delivery, now, context).await?;
        }
        Ok(())
    }

    /// The overdue reminders after this one: every step due by now (the latest supersedes the others) and the
    /// first one still to come. Nothing when the task is no longer open on that deadline.
    async fn derive_next_overdue(
        &self,
        delivery: &ClaimedDelivery,
        now: OffsetDateTime,
        context: &Context,
    ) -> Result<(), DispatchError> {
        let Some(task) = delivery.occurrence.task_id.and_then(|task_id| context.tasks.get(&task_id)) else {
            return Ok(());
        };
        if task.lifecycle != Lifecycle::Open
            || task.deadline.map(|deadline| deadline.code()) != delivery.occurrence.deadline
        {
            return Ok(());
        }
        let facts = TaskFacts {
            task_id: task.task_id.0,
            plan_id: task.plan_id.0,
            lead_unit: task.lead_unit.to_string(),
            deadline: task.deadline,
        };
        let mut next = Vec::new();
        let mut step = delivery.occurrence.step as u32 + 1;
        while let Some(occurrence) = self.scheduler.overdue_occurrence(&facts, step) {
            let in_future = occurrence.occurrence.due_at > now;
            next.push(occurrence);
            if in_future || next.len() >= 520 {
                break;
            }
            step += 1;
        }
        self.notify.insert_occurrences_now(&next).await?;
        Ok(())
    }
}

/// The longest a returned send waits for its outcome to be recorded with others.
const OUTCOME_FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// The prefix of the error a disabled endpoint answers.
const ENDPOINT_DISABLED: &str = "webhook endpoint disabled";

fn error_is_disabled_endpoint(error: &DeliveryError) -> bool {
    matches!(error, DeliveryError::Permanent(message) if message.starts_with(ENDPOINT_DISABLED))
}

/// What a batch needs to decide.
struct Context {
    tasks: HashMap<Uuid, Task>,
    reports: HashMap<String, ReportContext>,
    plan_titles: HashMap<Uuid, String>,
    recorded: HashMap<Uuid, HashSet<Uuid>>,
    endpoints: EndpointHealthNow,
}

/// Webhook endpoints' health as the round began.
#[derive(Default)]
struct EndpointHealthNow {
    /// Disabled endpoints, with why.
    disabled: HashMap<String, String>,
    /// Endpoints whose last delivery failed: a success resets their count.
    failing: HashSet<String>,
}

struct ReportContext {
    request_withdrawn: bool,
    all_tasks: Vec<Uuid>,
    unreported: Vec<TaskRef>,
}

/// What a report reminder may be about: whether its request was withdrawn, and the tasks of the plan the unit may
/// lead (with whether each has indicators, which the appendix shows in its deadline text).
struct ReportCandidates {
    request_withdrawn: bool,
    tasks: Vec<(Uuid, bool)>,
}

/// A report reminder's tasks as the ledger has them now: those still open, led by the unit, with no report whose
/// `as_of` falls in the period (from its first day to the cut-off). `None` when one of them cannot be read yet.
fn report_context(
    occurrence: &Occurrence,
    candidates: &ReportCandidates,
    tasks: &HashMap<Uuid, Task>,
) -> Option<ReportContext> {
    let period_start = occurrence.period_start.as_deref().and_then(|date| domain::deadline::parse_date_iso(date).ok());
    let cut_off = occurrence.cut_off.as_deref().and_then(|date| domain::deadline::parse_date_iso(date).ok());
    let mut all_tasks = Vec::new();
    let mut unreported = Vec::new();
    for (task_id, has_indicators) in &candidates.tasks {
        let task = tasks.get(task_id)?;
        if task.lead_unit.as_str() != occurrence.unit {
            continue;
        }
        all_tasks.push(*task_id);
        let reported = task.reports.iter().any(|report| {
            let as_of = report.current.as_of;
            period_start.is_none_or(|start| as_of >= start) && cut_off.is_none_or(|end| as_of <= end)
        });
        if task.lifecycle != Lifecycle::Open || reported {
            continue;
        }
        unreported.push(TaskRef {
            deadline_text: domain::appendix::deadline_text(task.deadline.as_ref(), *has_indicators),
            ..task_ref(task, String::new())
        });
    }
    Some(ReportContext { request_withdrawn: candidates.request_withdrawn, all_tasks, unreported })
}

/// A delivery decided to go, with its reminder and the streams its outcome is recorded on.
struct Decided {
    delivery: ClaimedDelivery,
    reminder: Reminder,
    streams: Vec<Uuid>,
}

/// Late reminders folded into one digest share a recipient, a channel and an address; those sent again after a
/// crash, the digest they were started in.
type DigestKey = (String, &'static str, String, Option<String>);

/// The far side's idempotency handle of a message (a delivery's id, or a digest's), and whether it may have been
/// sent before.
#[derive(Debug, Clone, Copy)]
struct Outgoing<'a> {
    delivery_id: &'a str,
    redelivery: bool,
}

enum Job {
    Single(Box<Decided>),
    Digest(Vec<Decided>),
}

/// A job whose deliveries' attempts are marked started: a digest with the id it goes out under.
enum Started {
    Single(Box<Decided>),
    Digest { digest_id: String, redelivery: bool, members: Vec<Decided> },
}

/// What moved while sending in windows.
enum Progress {
    /// A window of this many jobs was marked started: those to send (without the deliveries whose lease was lost).
    Started(usize, Result<Vec<Started>, DispatchError>),
    /// A send returned, with what it answered for each of its deliveries.
    Returned(Vec<Sending>),
    /// The outcomes of this many messages were recorded and marked.
    Flushed(usize, Result<RoundReport, DispatchError>),
    /// The first returned send has waited [`OUTCOME_FLUSH_INTERVAL`] for its outcome to be recorded.
    FlushDue,
}

enum Finish {
    Final { delivery: ClaimedDelivery, status: FinalStatus, attempts: u32, outcome: &'static str },
    Dead { delivery: ClaimedDelivery, attempts: u32, error: String },
    Retry { delivery: ClaimedDelivery, attempts: u32, not_before: OffsetDateTime, outcome: &'static str },
}

fn task_ref(task: &Task, plan_title: String) -> TaskRef {
    TaskRef {
        task_id: task.task_id.0,
        plan_id: task.plan_id.0,
        plan_title,
        number: task.number.to_string(),
        content: task.content(),
        deadline_text: domain::appendix::deadline_text(task.deadline.as_ref(), false),
        due_at: task.deadline.map(|deadline| deadline.due_at()),
        lead_unit: task.lead_unit.to_string(),
    }
}

/// `ReminderSkipped` of a delivery for `reason`; the detail names the channel and address first.
fn skipped_event(delivery: &ClaimedDelivery, reason: SkipReason, detail: &str) -> ReminderEvent {
    ReminderEvent::ReminderSkipped(ReminderSkipped {
        occurrence_key: delivery.occurrence.occurrence_key.clone(),
        rule: delivery.occurrence.rule.clone(),
        kind: recorded_kind(delivery).to_owned(),
        recipient: Some(delivery.recipient.id.clone()),
        reason,
        detail: format!("{} {}: {detail}", channel_name(delivery.channel), delivery.address)
            .trim_end_matches(": ")
            .to_owned(),
        due_at: delivery.occurrence.due_at,
    })
}

/// The outcome `event` of a delivery's attempt, once for each reminder stream it is recorded on.
fn outcome_records(streams: &[Uuid], delivery_id: &str, attempt: u32, event: ReminderEvent) -> Vec<OutcomeRecord> {
    streams
        .iter()
        .map(|task_id| OutcomeRecord {
            task_id: *task_id,
            delivery_id: delivery_id.to_owned(),
            attempt,
            event: event.clone(),
        })
        .collect()
}

/// Whether a delivery is an overdue reminder's copy for the unit's approver.
fn is_escalation(delivery: &ClaimedDelivery) -> bool {
    delivery.occurrence.kind == OccurrenceKind::Overdue && delivery.audience != Audience::Unit
}

/// The kind recorded in reminder events (`domain::reminder::REMINDER_KINDS`).
fn recorded_kind(delivery: &ClaimedDelivery) -> &'static str {
    match delivery.occurrence.kind {
        OccurrenceKind::Deadline if delivery.occurrence.step == 0 => "due_today",
        OccurrenceKind::Deadline => "deadline_approaching",
        OccurrenceKind::Overdue if is_escalation(delivery) => "escalation",
        OccurrenceKind::Overdue => "overdue",
        OccurrenceKind::Report => "report_due",
    }
}

fn count(outcome: &'static str, channel: ChannelKind, reason: &'static str) {
    metrics::counter!(
        "taskledger_notifications_total",
        "outcome" => outcome, "channel" => channel_name(channel), "reason" => reason
    )
    .increment(1);
}

/// A number in [0, 1] from the delivery and attempt: the jitter of its retry, the same on every replica.
fn jitter_unit(delivery_id: &str, attempt: u32) -> f64 {
    let digest = Sha256::digest(format!("{delivery_id}/{attempt}").as_bytes());
    f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX)
}
