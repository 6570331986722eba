//! History with full provenance: every event of a task and its indicators (or of a whole plan), in log order,
//! with who recorded it, when, why and on which documents, and with corrections and extension decisions shown
//! next to what they correct or decide. Also the exports of that history as JSON or CSV.
//!
//! A task's history also holds its reminder log (the stream `reminders-<task_id>`, see `domain::reminder`): every
//! reminder the notification service sent, failed to deliver or skipped, with a summary in Vietnamese, in log
//! order among the task's own events.
//!
//! `entries` turns stored events into [`HistoryEntry`]s; `audit` reuses it for the audit search, `diff` for the
//! events between two points.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::document_ref::DocumentRef;
use domain::ids::{PlanId, TaskId};
use domain::plan::PlanEvent;
use domain::reminder::{reminder_stream_id, task_of_reminder_stream, ReminderEvent, REMINDER_STREAM_PREFIX};
use domain::task::{ReportContent, TaskEvent};
use event_store::{RecordedEvent, StreamId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{record_read, ReadRecord};
use crate::ledger::{decode_event, ViewFilter};
use crate::queries::vietnam_time;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};

/// One event as history shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    /// The business date the event speaks of (`YYYY-MM-DD`), where one applies.
    pub effective_date: Option<String>,
    /// ISO 8601 with +07:00.
    pub recorded_at: String,
    pub actor: HistoryActor,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// The task or indicator the event is about, for task and reminder events.
    pub task_id: Option<Uuid>,
    /// What happened, in Vietnamese, where the event type and reason do not say it: a reminder's
    /// "Đã nhắc hạn sắp đến qua email tới SO-KHCN (lần 1)".
    pub summary: Option<String>,
    /// Why: a correction's or a decision's reason, an approval's note.
    pub reason: Option<String>,
    /// The documents the event cites: a decision's basis, a report's evidence, as written.
    pub basis: Vec<String>,
    /// The report a filing or a correction is about.
    pub report_id: Option<Uuid>,
    /// The extension request a request or a decision is about.
    pub extension_id: Option<Uuid>,
    /// For a correction: the version it replaces.
    pub corrects: Option<CorrectedVersion>,
    /// For an extension decision: the request it decides.
    pub decides: Option<DecidedRequest>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryActor {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub role: String,
}

/// The report version a correction replaces, with who recorded it and when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectedVersion {
    pub report_id: Uuid,
    /// The position of the event that recorded the replaced version.
    pub position: u64,
    pub recorded_at: String,
    pub actor_name: String,
    pub as_of: String,
    pub summary: String,
    #[schema(value_type = Vec<Object>)]
    pub measures: serde_json::Value,
    pub progress: Option<String>,
    pub evidence: Vec<String>,
}

/// The extension request a decision decides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecidedRequest {
    pub extension_id: Uuid,
    pub position: u64,
    pub current_deadline: String,
    pub proposed_deadline: String,
    pub reason: String,
    pub requested_by: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// json (default) or csv.
    pub format: Option<String>,
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// Every event of a task and of its indicators, in order, with provenance, reasons, documents and hashes, their
/// reminder logs included (reminders sent, failed and skipped); `format=csv` exports the same as CSV.
#[utoipa::path(get, path = "/v1/tasks/{task_id}/history", tag = "queries", params(("task_id" = Uuid, Path), ExportQuery),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_task_history(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(task_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = parse_format(query.format.as_deref())?;
    let task_id = TaskId(task_id);
    let (plan_id, streams) = history_streams(&state, task_id).await?;
    let history = state.histories.current(&state, task_id, streams).await?;
    let resource = format!("/v1/tasks/{task_id}/history");
    let record = ReadRecord::new(&resource, format_query(format), Some(plan_id), history.n_entries);
    record_read(&state, &actor, record).await?;
    Ok(match format {
        Format::Json => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], history.json.clone())
            .into_response(),
        Format::Csv => export(entries(&history.events), format, &format!("task-{task_id}-history")),
    })
}

/// Every event of a plan: the plan's own (creation, registrations, freezes, issued reports) and those of every
/// task and indicator, in order; `format=csv` exports the same as CSV.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/history", tag = "queries", params(("plan_id" = Uuid, Path), ExportQuery),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_plan_history(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(plan_id): Path<Uuid>,
    StrictQuery(query): StrictQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = parse_format(query.format.as_deref())?;
    let plan_id = PlanId(plan_id);
    let stored = plan_events(&state, plan_id).await?;
    let entries = entries(&stored);
    let resource = format!("/v1/plans/{plan_id}/history");
    record_read(&state, &actor, ReadRecord::new(&resource, format_query(format), Some(plan_id), entries.len())).await?;
    Ok(export(entries, format, &format!("plan-{plan_id}-history")))
}

/// The events of a task and its indicators in log order, their reminder logs included, with the task's plan.
pub async fn task_with_indicators_events(
    state: &AppState,
    task_id: TaskId,
) -> Result<(PlanId, Vec<RecordedEvent>), ApiError> {
    let (plan_id, streams) = history_streams(state, task_id).await?;
    let history = state.histories.current(state, task_id, streams).await?;
    Ok((plan_id, history.events.clone()))
}

/// The task's plan and the streams its history shows: the task's and its reminder log, then each indicator's.
pub async fn history_streams(state: &AppState, task_id: TaskId) -> Result<(PlanId, Vec<StreamId>), ApiError> {
    // The task's plan from the command path's cached fold, its nodes from the cached plan: a history request reads
    // the streams it shows and no other.
    let plan_id = state
        .ledger
        .plan_of_task(task_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("task {task_id} not found")))?;
    let mut streams = node_streams(task_id).to_vec();
    if let Some((plan, _)) = state.plans.current(state.ledger.store(), plan_id).await? {
        for indicator in plan.nodes.iter().filter(|node| node.parent_id == Some(task_id)) {
            streams.extend(node_streams(indicator.task_id));
        }
    }
    Ok((plan_id, streams))
}

/// The events of a plan and of all its nodes, in log order.
pub async fn plan_events(state: &AppState, plan_id: PlanId) -> Result<Vec<RecordedEvent>, ApiError> {
    let plan_events = state.ledger.plan_events(plan_id).await?;
    if plan_events.is_empty() {
        return Err(ApiError::NotFound(format!("plan {plan_id} not found")));
    }
    let (plan, _) = state
        .ledger
        .load_plan(plan_id, ViewFilter::default())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} not found")))?;
    let mut stored: Vec<RecordedEvent> = plan_events.into_iter().map(|(_, recorded)| recorded).collect();
    for node in &plan.nodes {
        for stream_id in node_streams(node.task_id) {
            stored.extend(state.ledger.store().read_stream(&stream_id, 0).await?);
        }
    }
    stored.sort_by_key(|event| event.global_position);
    Ok(stored)
}

/// The streams of one task or indicator: its own and its reminder log.
fn node_streams(task_id: TaskId) -> [StreamId; 2] {
    [StreamId(task_id.stream_name()), StreamId(reminder_stream_id(task_id))]
}

/// History entries of events in log order. A correction names the version it replaces and a decision the request
/// it decides when that earlier event is among `events` (it always is for a whole stream).
pub fn entries(events: &[RecordedEvent]) -> Vec<HistoryEntry> {
    let mut reports: HashMap<Uuid, (ReportContent, u64, String, String)> = HashMap::new();
    let mut requests: HashMap<Uuid, DecidedRequest> = HashMap::new();
    events
        .iter()
        .map(|event| {
            let mut entry = bare_entry(event);
            if event.stream_id.as_str().starts_with("task-") {
                if let Ok(task_event) = decode_event::<TaskEvent>(event) {
                    describe_task_event(&mut entry, event, &task_event, &mut reports, &mut requests);
                }
            } else if event.stream_id.as_str().starts_with("plan-") {
                if let Ok(plan_event) = decode_event::<PlanEvent>(event) {
                    describe_plan_event(&mut entry, &plan_event);
                }
            } else if event.stream_id.as_str().starts_with(REMINDER_STREAM_PREFIX) {
                if let Ok(reminder_event) = decode_event::<ReminderEvent>(event) {
                    describe_reminder_event(&mut entry, &reminder_event);
                }
            }
            entry
        })
        .collect()
}

/// The entry with provenance only; `entries` adds what the event says.
pub fn bare_entry(event: &RecordedEvent) -> HistoryEntry {
    HistoryEntry {
        position: event.global_position,
        event_id: event.event_id,
        stream_id: event.stream_id.0.clone(),
        stream_version: event.stream_version,
        event_type: event.event_type.clone(),
        schema_version: event.schema_version,
        effective_date: event.effective_date.map(|date| date.to_string()),
        recorded_at: vietnam_time(event.recorded_at),
        actor: HistoryActor {
            id: event.actor.id.clone(),
            name: event.actor.name.clone(),
            unit: event.actor.unit.clone(),
            role: event.actor.role.clone(),
        },
        command_id: event.command_id,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        task_id: event
            .stream_id
            .as_str()
            .strip_prefix("task-")
            .and_then(|id| Uuid::try_parse(id).ok())
            .or_else(|| task_of_reminder_stream(event.stream_id.as_str()).map(|task_id| task_id.0)),
        summary: None,
        reason: None,
        basis: Vec::new(),
        report_id: None,
        extension_id: None,
        corrects: None,
        decides: None,
        payload: event.payload.clone(),
        prev_hash: event.prev_hash.clone(),
        hash: event.hash.clone(),
    }
}

fn describe_task_event(
    entry: &mut HistoryEntry,
    stored: &RecordedEvent,
    event: &TaskEvent,
    reports: &mut HashMap<Uuid, (ReportContent, u64, String, String)>,
    requests: &mut HashMap<Uuid, DecidedRequest>,
) {
    let recorded = (stored.global_position, vietnam_time(stored.recorded_at), stored.actor.name.clone());
    match event {
        TaskEvent::TaskAssigned(assigned) => entry.basis = cited(&assigned.basis),
        TaskEvent::ProgressReported(reported) => {
            entry.report_id = Some(reported.report_id.0);
            entry.basis = cited(&reported.content.evidence);
            reports.insert(reported.report_id.0, (reported.content.clone(), recorded.0, recorded.1, recorded.2));
        }
        TaskEvent::ReportCorrected(corrected) => {
            let report_id = corrected.report_id.0;
            entry.report_id = Some(report_id);
            entry.reason = Some(corrected.reason.as_str().to_owned());
            entry.basis = cited(&corrected.content.evidence);
            entry.corrects =
                reports.get(&report_id).map(|(content, position, recorded_at, actor_name)| CorrectedVersion {
                    report_id,
                    position: *position,
                    recorded_at: recorded_at.clone(),
                    actor_name: actor_name.clone(),
                    as_of: content.as_of.to_string(),
                    summary: content.summary.as_str().to_owned(),
                    measures: serde_json::to_value(&content.measures).unwrap_or_default(),
                    progress: content.progress.map(|progress| progress_code(progress).to_owned()),
                    evidence: cited(&content.evidence),
                });
            reports.insert(report_id, (corrected.content.clone(), recorded.0, recorded.1, recorded.2));
        }
        TaskEvent::DeadlineExtensionRequested(requested) => {
            entry.extension_id = Some(requested.extension_id.0);
            entry.reason = Some(requested.reason.as_str().to_owned());
            entry.basis = cited(&requested.basis);
            requests.insert(
                requested.extension_id.0,
                DecidedRequest {
                    extension_id: requested.extension_id.0,
                    position: stored.global_position,
                    current_deadline: requested.current_deadline.code(),
                    proposed_deadline: requested.proposed_deadline.code(),
                    reason: requested.reason.as_str().to_owned(),
                    requested_by: stored.actor.name.clone(),
                },
            );
        }
        TaskEvent::DeadlineExtensionApproved(approved) => {
            entry.extension_id = Some(approved.extension_id.0);
            entry.reason = approved.note.as_ref().map(|note| note.as_str().to_owned());
            entry.basis = cited(&approved.basis);
            entry.decides = requests.get(&approved.extension_id.0).cloned();
        }
        TaskEvent::DeadlineExtensionRejected(rejected) => {
            entry.extension_id = Some(rejected.extension_id.0);
            entry.reason = Some(rejected.reason.as_str().to_owned());
            entry.basis = cited(&rejected.basis);
            entry.decides = requests.get(&rejected.extension_id.0).cloned();
        }
        TaskEvent::CompletionReported(reported) => entry.basis = cited(&reported.evidence),
        TaskEvent::CompletionConfirmed(decision)
        | TaskEvent::CompletionRejected(decision)
        | TaskEvent::TaskSuspended(decision)
        | TaskEvent::TaskCancelled(decision)
        | TaskEvent::TaskReopened(decision) => {
            entry.reason = decision.reason.as_ref().map(|reason| reason.as_str().to_owned());
            entry.basis = cited(&decision.basis);
        }
        TaskEvent::TaskTransferred(transferred) => {
            entry.reason = Some(transferred.reason.as_str().to_owned());
            entry.basis = cited(&transferred.basis);
        }
    }
}

fn describe_plan_event(entry: &mut HistoryEntry, event: &PlanEvent) {
    match event {
        PlanEvent::PlanCreated(created) => entry.basis = cited(&created.basis),
        PlanEvent::PlanFrozen(frozen) => {
            entry.reason = Some(frozen.reason.as_str().to_owned());
            entry.basis = cited(&frozen.basis);
        }
        PlanEvent::PlanUnfrozen(unfrozen) => {
            entry.reason = Some(unfrozen.reason.as_str().to_owned());
            entry.basis = cited(&unfrozen.basis);
        }
        PlanEvent::ReportRequested(requested) => {
            entry.reason = (!requested.note.is_empty()).then(|| requested.note.clone());
            entry.basis = cited(&requested.basis);
        }
        PlanEvent::ReportRequestWithdrawn(withdrawn) => entry.reason = Some(withdrawn.reason.as_str().to_owned()),
        PlanEvent::TaskRegistered(_) | PlanEvent::ReportIssued(_) => {}
    }
}

/// A reminder's summary; a failure's error or a skip's reason is also the entry's reason.
fn describe_reminder_event(entry: &mut HistoryEntry, event: &ReminderEvent) {
    match event {
        ReminderEvent::ReminderSent(sent) => {
            let mut summary = format!(
                "Đã {} qua {} tới {} (lần {})",
                reminder_action(&sent.kind),
                channel_name(&sent.channel),
                sent.recipient,
                sent.attempt
            );
            if sent.late {
                summary.push_str(", gửi muộn");
            }
            if sent.digest {
                summary.push_str(", trong bản tổng hợp");
            }
            entry.summary = Some(summary);
        }
        ReminderEvent::ReminderFailed(failed) => {
            let next = match (failed.dead_lettered, failed.retry_at) {
                (true, _) => "đã chuyển sang hàng chờ xử lý lỗi".to_owned(),
                (false, Some(retry_at)) => format!("sẽ thử lại lúc {}", vietnam_time(retry_at)),
                (false, None) if failed.permanent => "lỗi không thể thử lại".to_owned(),
                (false, None) => "không thử lại".to_owned(),
            };
            entry.summary = Some(format!(
                "Không gửi được {} qua {} tới {} (lần {}): {}; {next}",
                reminder_action(&failed.kind),
                channel_name(&failed.channel),
                failed.recipient,
                failed.attempt,
                failed.error
            ));
            entry.reason = Some(failed.error.clone());
        }
        ReminderEvent::ReminderSkipped(skipped) => {
            let recipient = skipped.recipient.as_ref().map(|recipient| format!(" tới {recipient}")).unwrap_or_default();
            let detail = if skipped.detail.is_empty() { String::new() } else { format!(" ({})", skipped.detail) };
            entry.summary = Some(format!(
                "Không {}{recipient}: {}{detail}",
                reminder_action(&skipped.kind),
                skipped.reason.vietnamese()
            ));
            entry.reason = Some(skipped.reason.as_str().to_owned());
        }
    }
}

/// What a reminder of this kind does, after "Đã" or "Không".
fn reminder_action(kind: &str) -> String {
    match kind {
        "deadline_approaching" => "nhắc hạn sắp đến".to_owned(),
        "due_today" => "nhắc hạn hôm nay".to_owned(),
        "overdue" => "nhắc việc quá hạn".to_owned(),
        "escalation" => "báo việc quá hạn lên cấp trên".to_owned(),
        "report_due" => "nhắc hạn báo cáo".to_owned(),
        other => format!("nhắc ({other})"),
    }
}

fn channel_name(channel: &str) -> &str {
    match channel {
        "feed" => "bảng tin",
        "nats" => "NATS",
        other => other,
    }
}

/// The documents as written.
pub fn cited(documents: &[DocumentRef]) -> Vec<String> {
    documents.iter().map(|document| document.original().to_owned()).collect()
}

fn progress_code(progress: domain::status::ReportedProgress) -> &'static str {
    match progress {
        domain::status::ReportedProgress::NotStarted => "not_started",
        domain::status::ReportedProgress::InProgress => "in_progress",
    }
}

pub fn parse_format(value: Option<&str>) -> Result<Format, ApiError> {
    match value.unwrap_or("json") {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        other => Err(ApiError::invalid("format", format!("\"{other}\" is not one of json, csv"))),
    }
}

fn format_query(format: Format) -> String {
    match format {
        Format::Json => "format=json".to_owned(),
        Format::Csv => "format=csv".to_owned(),
    }
}

/// The entries as JSON, or as CSV (one row per event, the columns of [`CSV_HEADER`], RFC 4180 quoting) served as
/// an attachment named after `name`.
pub fn export(entries: Vec<HistoryEntry>, format: Format, name: &str) -> Response {
    match format {
        Format::Json => Json(entries).into_response(),
        Format::Csv => {
            let mut response = csv(&entries).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    }
}

/// The CSV columns of an export.
pub const CSV_HEADER: [&str; 20] = [
    "position",
    "recorded_at",
    "stream_id",
    "stream_version",
    "event_type",
    "effective_date",
    "actor_id",
    "actor_name",
    "actor_unit",
    "actor_role",
    "command_id",
    "correlation_id",
    "reason",
    "basis",
    "report_id",
    "corrects_position",
    "payload",
    "prev_hash",
    "hash",
    "summary",
];

pub fn csv(entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    push_record(&mut out, CSV_HEADER.iter().map(|column| column.to_string()));
    for entry in entries {
        push_record(
            &mut out,
            [
                entry.position.to_string(),
                entry.recorded_at.clone(),
                entry.stream_id.clone(),
                entry.stream_version.to_string(),
                entry.event_type.clone(),
                entry.effective_date.clone().unwrap_or_default(),
                entry.actor.id.clone(),
                entry.actor.name.clone(),
                entry.actor.unit.clone(),
                entry.actor.role.clone(),
                entry.command_id.to_string(),
                entry.correlation_id.to_string(),
                entry.reason.clone().unwrap_or_default(),
                entry.basis.join("; "),
                entry.report_id.map(|id| id.to_string()).unwrap_or_default(),
                entry.corrects.as_ref().map(|corrected| corrected.position.to_string()).unwrap_or_default(),
                entry.payload.to_string(),
                entry.prev_hash.clone(),
                entry.hash.clone(),
                entry.summary.clone().unwrap_or_default(),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_record(out: &mut String, fields: impl Iterator<Item = String>) {
    for (index, field) in fields.enumerate() {
        if index > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}
