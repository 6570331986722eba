//! Between the domain and the event store: turns domain events into stored events and back, folds streams into
//! plans and tasks (optionally as of a business date and as known at an instant), and appends a command's events
//! with its provenance.

use std::collections::HashMap;
use std::sync::Arc;

use domain::actor::Actor;
use domain::ids::{PlanId, TaskId};
use domain::plan::{Plan, PlanEvent};
use domain::task::{Recorded, Task, TaskEvent, REPORT_EVENT_TYPES, SCHEMA_VERSION};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, EventStore, ExpectedVersion, Idempotency, NewEvent, RecordedEvent,
    StoredText, StreamAppend, StreamId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use http_api::error::ApiError;
use http_api::extract::CommandHeaders;

/// How many folded tasks the command path keeps; past it the cache starts over.
const MAX_CACHED_TASKS: usize = 20_000;

/// What a command on a task is decided on when the task is not kept folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFold {
    /// Every event of the stream.
    Whole,
    /// Every event but the [`REPORT_EVENT_TYPES`] (see [`domain::task::TaskCommand::needs_reports`]).
    WithoutReports,
}

/// Which events a read folds: those whose business date is not after `as_of`, recorded not after `known_at` and
/// at a global position not after `known_at_position`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewFilter {
    pub as_of: Option<Date>,
    pub known_at: Option<OffsetDateTime>,
    pub known_at_position: Option<u64>,
}

/// Who issues a command and how it is tied to others; everything the store records as provenance.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub headers: CommandHeaders,
    /// The idempotency fingerprint (route and body), when the command carries a key.
    pub fingerprint: String,
}

/// Reads and writes domain aggregates through the event store.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn EventStore>,
    /// Tasks as last folded without a filter, so that a command reads and decodes only the events appended since
    /// (the store stays the authority: the cached version is only where reading resumes).
    tasks: Arc<std::sync::Mutex<HashMap<TaskId, Folded>>>,
    /// Woken after every append so that the relay publishes the new events at once.
    relay: bus::relay::RelayHandle,
}

/// A task as the command path keeps it folded.
struct Folded {
    task: Arc<Task>,
    /// What it was folded from: every event, or every event but the earlier reports ([`TaskFold::WithoutReports`]),
    /// which serves the commands that do not look at them until one that does reads the whole stream.
    fold: TaskFold,
}

/// A stream a command was decided against without writing to it (a task's plan, for its freeze), at the version
/// the decision saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub stream_id: StreamId,
    pub version: u64,
}

/// The guarded stream moved between the decision and the append; nothing was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardMoved;

impl Guard {
    /// The guard as an append of no events expecting the stream at its version.
    fn expectation(&self) -> StreamWrite {
        StreamWrite {
            stream_id: self.stream_id.clone(),
            expected_version: ExpectedVersion::Exact(self.version),
            events: Vec::new(),
        }
    }
}

/// One stream's events of a command, ready to append.
pub struct StreamWrite {
    pub stream_id: StreamId,
    pub expected_version: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

impl Ledger {
    pub fn new(store: Arc<dyn EventStore>) -> Ledger {
        Ledger { store, tasks: Arc::default(), relay: bus::relay::RelayHandle::default() }
    }

    /// Wakes this relay after every append.
    pub fn with_relay(mut self, relay: bus::relay::RelayHandle) -> Ledger {
        self.relay = relay;
        self
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The first answer to an idempotent command, if this key was used before. The append itself answers a replay
    /// too; this is for a command refused before its append (its decision no longer holds on today's state).
    pub async fn replay(&self, context: &CommandContext) -> Result<Option<AppendOutcome>, ApiError> {
        let Some(idempotency) = idempotency(context) else {
            return Ok(None);
        };
        Ok(self.store.find_idempotent(&idempotency).await?)
    }

    /// Appends a command's streams atomically.
    pub async fn append(
        &self,
        context: &CommandContext,
        subject_id: String,
        subject_stream: StreamId,
        writes: Vec<StreamWrite>,
    ) -> Result<AppendOutcome, ApiError> {
        Ok(self.append_request(context, subject_id, subject_stream, writes).await?)
    }

    /// Decides a command on a task and appends its events with the task's version as the expected version, and
    /// `guard`'s version as the expected version of the guarded stream (an expectation without events).
    ///
    /// The decision is made first on the task's cached fold, without reading the store: the expected version makes
    /// the store refuse the append if the stream has moved since (another process appended to it). Whatever
    /// refuses a decision made on the cache (`decide` itself or the store's version check) is therefore not final:
    /// the task is brought up to date from the store and the command decided once more, and that answer stands.
    /// A refusal because the guarded stream moved is answered as `Err(GuardMoved)`, for the caller to check its
    /// guard again. After the append the task is evolved with the decided events themselves, as the store recorded
    /// them, so that the next command on it need not read them back.
    pub async fn decide_on_task(
        &self,
        context: &CommandContext,
        task_id: TaskId,
        subject_id: String,
        guard: Option<&Guard>,
        fold: TaskFold,
        mut decide: impl FnMut(Option<&Task>) -> Result<Vec<TaskEvent>, ApiError>,
    ) -> Result<Result<AppendOutcome, GuardMoved>, ApiError> {
        let stream_id = StreamId(task_id.stream_name());
        // Taken out of the cache while the command runs, so that evolving it never clones it.
        let cached = self.cached_tasks().remove(&task_id);
        let (mut task, mut from_cache, kept) = match cached {
            // A fold without the reports serves a command that needs none, and is kept as such.
            Some(cached) if cached.fold == TaskFold::Whole || fold == TaskFold::WithoutReports => {
                (Some(Arc::unwrap_or_clone(cached.task)), true, cached.fold)
            }
            Some(_) | None => (self.read_fold(task_id, fold).await?, false, fold),
        };
        let cache_task = |task: Option<Task>| {
            if let Some(task) = task {
                self.cache_task(task_id, Arc::new(task), kept);
            }
        };
        loop {
            let decided = decide(task.as_ref()).and_then(|events| {
                let version = task.as_ref().map_or(0, |task| task.version);
                Ok((new_task_write(&stream_id, version, &events)?, events))
            });
            let attempt = match decided {
                Ok((write, events)) => {
                    let writes = std::iter::once(write).chain(guard.map(Guard::expectation)).collect();
                    match self.append_request(context, subject_id.clone(), stream_id.clone(), writes).await {
                        Ok(outcome) => Ok((outcome, events)),
                        Err(AppendError::WrongExpectedVersion { stream_id: moved, .. })
                            if guard.is_some_and(|guard| guard.stream_id == moved) =>
                        {
                            cache_task(task);
                            return Ok(Err(GuardMoved));
                        }
                        Err(error) => Err(ApiError::from(error)),
                    }
                }
                Err(error) => Err(error),
            };
            match attempt {
                Ok((outcome, events)) => {
                    if !outcome.replayed {
                        task = evolve_with_appended(task, &events, &outcome, &context.actor, kept);
                    }
                    cache_task(task);
                    return Ok(Ok(outcome));
                }
                // The store's own failures are final: the append may have committed.
                Err(error) if from_cache && !matches!(error, ApiError::Unavailable(_) | ApiError::Internal(_)) => {
                    task = self.read_task(task_id, task, kept).await?;
                    from_cache = false;
                }
                Err(error) => {
                    cache_task(task);
                    return Err(error);
                }
            }
        }
    }

    async fn append_request(
        &self,
        context: &CommandContext,
        subject_id: String,
        subject_stream: StreamId,
        writes: Vec<StreamWrite>,
    ) -> Result<AppendOutcome, event_store::AppendError> {
        let request = AppendRequest {
            command_id: Uuid::now_v7(),
            correlation_id: context.headers.correlation_id,
            causation_id: context.headers.causation_id,
            actor: store_actor(&context.actor),
            idempotency: idempotency(context),
            subject_id,
            subject_stream,
            streams: writes
                .into_iter()
                .map(|write| StreamAppend {
                    stream_id: write.stream_id,
                    expected_version: write.expected_version,
                    events: write.events,
                })
                .collect(),
        };
        let n_events: usize = request.streams.iter().map(|stream| stream.events.len()).sum();
        let started = std::time::Instant::now();
        let result = self.store.append(request).await;
        let outcome = match &result {
            Ok(outcome) if outcome.replayed => "replayed",
            Ok(_) => "appended",
            Err(event_store::AppendError::WrongExpectedVersion { .. }) => "conflict",
            Err(_) => "refused",
        };
        metrics::histogram!("taskledger_append_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        if outcome == "appended" {
            metrics::counter!("taskledger_events_appended_total").increment(n_events as u64);
        }
        if let Ok(appended) = &result {
            self.relay.notify();
            metrics::gauge!("taskledger_log_head_position").set(appended.last_position as f64);
            tracing::debug!(subject_id = %appended.subject_id, position = appended.last_position, n_events, "command appended");
        }
        result
    }

    pub async fn plan_events(&self, plan_id: PlanId) -> Result<Vec<(PlanEvent, RecordedEvent)>, ApiError> {
        self.stream(&StreamId(plan_id.stream_name())).await
    }

    pub async fn task_events(&self, task_id: TaskId) -> Result<Vec<(TaskEvent, RecordedEvent)>, ApiError> {
        self.stream(&StreamId(task_id.stream_name())).await
    }

    /// The plan with its version, or `None` when it does not exist (or did not yet at `known_at`).
    pub async fn load_plan(&self, plan_id: PlanId, filter: ViewFilter) -> Result<Option<(Plan, u64)>, ApiError> {
        let events = self.plan_events(plan_id).await?;
        let kept: Vec<&PlanEvent> =
            events.iter().filter(|(_, stored)| known(stored, filter)).map(|(event, _)| event).collect();
        let version = kept.len() as u64;
        Ok(Plan::fold(kept).map(|plan| (plan, version)))
    }

    /// The task folded under the filter, or `None` when it does not exist (or did not yet at `known_at`).
    pub async fn load_task(&self, task_id: TaskId, filter: ViewFilter) -> Result<Option<Task>, ApiError> {
        if filter.as_of.is_some() || filter.known_at.is_some() || filter.known_at_position.is_some() {
            let events = self.task_events(task_id).await?;
            return Ok(fold_task(&events, filter));
        }
        Ok(self.current_task(task_id).await?.map(Arc::unwrap_or_clone))
    }

    /// The plan a task belongs to (it never changes), from the cached fold when there is one.
    pub async fn plan_of_task(&self, task_id: TaskId) -> Result<Option<PlanId>, ApiError> {
        if let Some(cached) = self.cached_tasks().get(&task_id) {
            return Ok(Some(cached.task.plan_id));
        }
        // A task's plan never changes: when the task is not kept folded, the fold without its reports (a few
        // events) names it as well as the whole one, and is kept for the command that asked.
        let task = self.read_task_without_reports(task_id).await?.map(Arc::new);
        if let Some(task) = &task {
            self.cache_task(task_id, task.clone(), TaskFold::WithoutReports);
        }
        Ok(task.map(|task| task.plan_id))
    }

    /// The task as it stands now: the cached fold plus the events appended since.
    pub async fn current_task(&self, task_id: TaskId) -> Result<Option<Arc<Task>>, ApiError> {
        // Taken out of the cache while it is brought up to date, so that evolving it never clones it.
        let cached = self.cached_tasks().remove(&task_id);
        let cached =
            cached.filter(|cached| cached.fold == TaskFold::Whole).map(|cached| Arc::unwrap_or_clone(cached.task));
        let task = self.read_task(task_id, cached, TaskFold::Whole).await?.map(Arc::new);
        if let Some(task) = &task {
            self.cache_task(task_id, task.clone(), TaskFold::Whole);
        }
        Ok(task)
    }

    /// What this process keeps folded of a task, if anything.
    pub fn kept_fold(&self, task_id: TaskId) -> Option<TaskFold> {
        self.kept_task(task_id).map(|(fold, _)| fold)
    }

    /// The task as this process keeps it folded, with what it was folded from, if it keeps it.
    pub fn kept_task(&self, task_id: TaskId) -> Option<(TaskFold, Arc<Task>)> {
        self.cached_tasks().get(&task_id).map(|cached| (cached.fold, cached.task.clone()))
    }

    /// The task folded from its stream as `fold` says.
    async fn read_fold(&self, task_id: TaskId, fold: TaskFold) -> Result<Option<Task>, ApiError> {
        match fold {
            TaskFold::Whole => self.read_task(task_id, None, TaskFold::Whole).await,
            TaskFold::WithoutReports => self.read_task_without_reports(task_id).await,
        }
    }

    /// The task folded from its stream without the [`REPORT_EVENT_TYPES`], which change nothing but its reports:
    /// its `reports` are incomplete (at most the last event's report), every other field is the whole fold's, and its
    /// `version` is the stream's. For the commands that do not look at earlier reports (filing one): a task not
    /// kept folded costs a read of a few events instead of every report ever filed on it.
    async fn read_task_without_reports(&self, task_id: TaskId) -> Result<Option<Task>, ApiError> {
        let stream_id = StreamId(task_id.stream_name());
        let stored = self.store.read_stream_stored_except(&stream_id, &REPORT_EVENT_TYPES).await?;
        let mut task = evolve_with_stored(None, &stored)?;
        if let (Some(task), Some(last)) = (task.as_mut(), stored.last()) {
            task.version = last.stream_version;
        }
        Ok(task)
    }

    /// `task` (a `fold` of the task's first events, or `None` for none) evolved with the events stored after it.
    /// When the store cannot be read, `task` goes back into the cache and the error is answered.
    async fn read_task(&self, task_id: TaskId, task: Option<Task>, fold: TaskFold) -> Result<Option<Task>, ApiError> {
        let after_version = task.as_ref().map_or(0, |task| task.version);
        // The payloads as stored text, decoded straight into the domain's events: a command on a task that is not
        // cached reads its whole stream, and at a reporting cut-off most tasks are in that case.
        let appended = match self.store.read_stream_stored(&StreamId(task_id.stream_name()), after_version).await {
            Ok(appended) => appended,
            Err(error) => {
                if let Some(task) = task {
                    self.cache_task(task_id, Arc::new(task), fold);
                }
                return Err(error.into());
            }
        };
        evolve_with_stored(task, &appended)
    }

    /// Keeps `task` unless a fold at least as recent and as complete is kept already (another command's).
    fn cache_task(&self, task_id: TaskId, task: Arc<Task>, fold: TaskFold) {
        let mut cache = self.cached_tasks();
        let full = (cache.len() >= MAX_CACHED_TASKS).then(|| std::mem::take(&mut *cache));
        let better = cache.get(&task_id).is_none_or(|cached| {
            cached.task.version < task.version
                || (cached.task.version == task.version
                    && cached.fold == TaskFold::WithoutReports
                    && fold == TaskFold::Whole)
        });
        if better {
            cache.insert(task_id, Folded { task, fold });
        }
        drop(cache);
        // Freeing thousands of folded tasks, each with its reports, takes tens of milliseconds: never under the
        // lock that every command takes, and not on the request's thread.
        if let Some(full) = full {
            drop_elsewhere(full);
        }
    }

    fn cached_tasks(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, Folded>> {
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every task of a plan, in registration order.
    pub async fn load_plan_tasks(&self, plan: &Plan, filter: ViewFilter) -> Result<Vec<Task>, ApiError> {
        let mut tasks = Vec::with_capacity(plan.nodes.len());
        for node in &plan.nodes {
            if let Some(task) = self.load_task(node.task_id, filter).await? {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }

    async fn stream<E: DeserializeOwned>(&self, stream_id: &StreamId) -> Result<Vec<(E, RecordedEvent)>, ApiError> {
        let stored = self.store.read_stream(stream_id, 0).await?;
        stored
            .into_iter()
            .map(|recorded| {
                let event = decode_event(&recorded).map_err(|reason| {
                    ApiError::internal(format!(
                        "event at position {} cannot be decoded: {reason}",
                        recorded.global_position
                    ))
                })?;
                Ok((event, recorded))
            })
            .collect()
    }
}

/// Folds task events under a view filter.
pub fn fold_task(events: &[(TaskEvent, RecordedEvent)], filter: ViewFilter) -> Option<Task> {
    let recorded: Vec<(&TaskEvent, Recorded)> = events
        .iter()
        .filter(|(event, stored)| known(stored, filter) && effective(event, filter))
        .map(|(event, stored)| (event, recorded_of(stored)))
        .collect();
    Task::fold(recorded.iter().map(|(event, recorded)| (*event, recorded)))
}

/// Converts a domain event (an adjacently tagged enum) into a stored event.
pub fn new_event<E: Serialize>(event: &E, effective_date: Option<Date>) -> Result<NewEvent, ApiError> {
    let mut value = serde_json::to_value(event).map_err(ApiError::internal)?;
    let event_type = value
        .get("event_type")
        .and_then(|value| value.as_str())
        .ok_or_else(|| ApiError::internal("domain event has no event_type"))?
        .to_owned();
    let payload = value.get_mut("payload").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
    Ok(NewEvent { event_id: Uuid::now_v7(), event_type, schema_version: SCHEMA_VERSION, effective_date, payload })
}

/// Decodes a stored event into its domain enum.
pub fn decode_event<E: DeserializeOwned>(recorded: &RecordedEvent) -> Result<E, String> {
    let tagged = serde_json::json!({ "event_type": recorded.event_type, "payload": recorded.payload });
    serde_json::from_value(tagged).map_err(|error| error.to_string())
}

/// Drops `value` on a blocking thread of the runtime when there is one, else here.
fn drop_elsewhere<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(move || drop(value));
        }
        Err(_) => drop(value),
    }
}

/// Decodes a stored event, its payload as the text stored, into its domain enum, without building a
/// `serde_json::Value` on the way.
pub fn decode_stored_event<E: DeserializeOwned>(stored: &StoredText) -> Result<E, String> {
    let event_type = serde_json::to_string(&stored.event_type).map_err(|error| error.to_string())?;
    let mut tagged = String::with_capacity(stored.payload.len() + event_type.len() + 28);
    tagged.push_str("{\"event_type\":");
    tagged.push_str(&event_type);
    tagged.push_str(",\"payload\":");
    tagged.push_str(&stored.payload);
    tagged.push('}');
    serde_json::from_str(&tagged).map_err(|error| error.to_string())
}

pub fn recorded_of<P>(stored: &RecordedEvent<P>) -> Recorded {
    Recorded {
        position: stored.global_position,
        recorded_at: stored.recorded_at,
        actor_id: stored.actor.id.clone(),
        actor_name: stored.actor.name.clone(),
        actor_unit: stored.actor.unit.clone(),
        actor_role: stored.actor.role.clone(),
    }
}

pub fn known(stored: &RecordedEvent, filter: ViewFilter) -> bool {
    filter.known_at.is_none_or(|known_at| stored.recorded_at <= known_at)
        && filter.known_at_position.is_none_or(|position| stored.global_position <= position)
}

pub fn effective(event: &TaskEvent, filter: ViewFilter) -> bool {
    match (filter.as_of, event.effective_date()) {
        (Some(as_of), Some(date)) => date <= as_of,
        _ => true,
    }
}

/// The stream write of a command on a task at `version`.
fn new_task_write(stream_id: &StreamId, version: u64, events: &[TaskEvent]) -> Result<StreamWrite, ApiError> {
    Ok(StreamWrite {
        stream_id: stream_id.clone(),
        expected_version: ExpectedVersion::Exact(version),
        events: events.iter().map(|event| new_event(event, event.effective_date())).collect::<Result<_, _>>()?,
    })
}

/// `task` evolved with stored events of its stream, their payloads decoded from the stored text.
fn evolve_with_stored(mut task: Option<Task>, stored: &[StoredText]) -> Result<Option<Task>, ApiError> {
    for stored in stored {
        let event: TaskEvent = decode_stored_event(stored).map_err(|reason| {
            ApiError::internal(format!("event at position {} cannot be decoded: {reason}", stored.global_position))
        })?;
        task = Task::evolve(task, &event, &recorded_of(stored));
    }
    Ok(task)
}

/// The task after its appended `events`, each with the provenance the store recorded: the positions of
/// `outcome`, its `recorded_at` and the actor as [`store_actor`] hands it to the store. A fold without the reports
/// stays one: their events only move its version, so a task kept for filing reports does not gather every report
/// filed since it was read (their contents are for the commands that read the whole stream).
fn evolve_with_appended(
    mut task: Option<Task>,
    events: &[TaskEvent],
    outcome: &AppendOutcome,
    actor: &Actor,
    fold: TaskFold,
) -> Option<Task> {
    let actor = store_actor(actor);
    for (position, event) in (outcome.first_position..).zip(events) {
        if fold == TaskFold::WithoutReports && REPORT_EVENT_TYPES.contains(&event.event_type()) {
            if let Some(task) = task.as_mut() {
                task.version += 1;
            }
            continue;
        }
        let recorded = Recorded {
            position,
            recorded_at: outcome.recorded_at,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            actor_unit: actor.unit.clone(),
            actor_role: actor.role.clone(),
        };
        task = Task::evolve(task, event, &recorded);
    }
    task
}

/// The actor as the store records it.
fn store_actor(actor: &Actor) -> event_store::Actor {
    event_store::Actor {
        id: actor.id.clone(),
        name: actor.name.clone(),
        unit: actor.unit.to_string(),
        role: actor.role.to_string(),
    }
}

fn idempotency(context: &CommandContext) -> Option<Idempotency> {
    context.headers.idempotency_key.map(|key| Idempotency { key, fingerprint: context.fingerprint.clone() })
}

#[cfg(test)]
mod tests {
    use domain::document_ref::DocumentRef;
    use domain::ids::ReportId;
    use domain::task::{ProgressReported, ReportContent, TaskEvent};
    use domain::text::NonEmptyText;
    use event_store::canonical::canonical_json;
    use event_store::RecordedEvent;
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_stored_event_decodes_from_its_text_as_from_its_value() {
        let event = TaskEvent::ProgressReported(ProgressReported {
            report_id: ReportId(Uuid::now_v7()),
            content: ReportContent {
                as_of: date!(2024 - 04 - 15),
                summary: NonEmptyText::parse("Đã khảo sát \"25/25\" doanh nghiệp\\", 1_000).expect("text"),
                measures: vec![],
                progress: None,
                evidence: vec![DocumentRef::parse("Kế hoạch số 23/KH-KHCN ngày 24/01/2024").expect("reference")],
            },
        });
        let new = new_event(&event, Some(date!(2024 - 04 - 15))).expect("new event");
        let stored = RecordedEvent {
            global_position: 7,
            event_id: new.event_id,
            stream_id: StreamId("task-1".to_owned()),
            stream_version: 2,
            event_type: new.event_type.clone(),
            schema_version: new.schema_version,
            effective_date: new.effective_date,
            recorded_at: datetime!(2024-04-16 02:00 UTC),
            actor: event_store::Actor {
                id: "u-1".to_owned(),
                name: "Nguyễn Văn An".to_owned(),
                unit: "SKHCN".to_owned(),
                role: "reporter".to_owned(),
            },
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            payload: new.payload,
            prev_hash: "0".repeat(64),
            hash: "1".repeat(64),
        };
        let text = stored.clone().map_payload(|payload| canonical_json(&payload));

        let from_text: TaskEvent = decode_stored_event(&text).expect("decodes from the text");
        assert_eq!(from_text, event);
        assert_eq!(decode_event::<TaskEvent>(&stored).expect("decodes from the value"), event);

        let broken = text.map_payload(|payload| payload.replacen("as_of", "as_at", 1));
        assert!(decode_stored_event::<TaskEvent>(&broken).is_err());
    }
}
