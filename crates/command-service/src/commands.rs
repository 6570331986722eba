//! Command handlers: each parses its body, loads what it decides on, lets the domain decide, and appends the
//! events with the stream version it read as the expected version. Every command answers `201 {id, version,
//! position}`; a retry with the same `Idempotency-Key` answers the first result again.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::ids::{ExtensionId, PlanId, ReportId, TaskId};
use domain::plan::{self, CreatePlan, PlanEvent};
use domain::task::{self, AssignTask, TaskCommand, TaskEvent};
use event_store::{AppendOutcome, ExpectedVersion, StreamId};
use uuid::Uuid;

use crate::dto::{self, *};
use crate::ledger::{new_event, CommandContext, Guard, GuardMoved, StreamWrite, TaskFold, ViewFilter};
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{fingerprint, Authenticated, CommandHeaders, StrictJson};

/// Creates a plan.
#[utoipa::path(post, path = "/v1/plans", request_body = CreatePlanBody, tag = "commands",
    responses((status = 201, body = CommandAccepted), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn create_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    body: StrictJson<CreatePlanBody>,
) -> Result<Response, ApiError> {
    let context = context(actor, headers, "POST /v1/plans", &body);
    let outcome = create_plan_outcome(&state, &context, body.value).await;
    Ok(accepted(or_replay(&state, &context, outcome).await?, plan_location))
}

async fn create_plan_outcome(
    state: &AppState,
    context: &CommandContext,
    body: CreatePlanBody,
) -> Result<AppendOutcome, ApiError> {
    let command = CreatePlan {
        plan_id: PlanId(Uuid::now_v7()),
        agency: dto::unit("agency", &body.agency)?,
        year: body.year,
        title: dto::text("title", &body.title)?,
        basis: dto::documents("basis", &body.basis)?,
        sections: body
            .sections
            .iter()
            .enumerate()
            .map(|(index, section)| dto::section(index, section))
            .collect::<Result<_, _>>()?,
    };
    let plan_id = command.plan_id;
    let events = plan::create_plan(None, command, &context.actor)?;
    let stream_id = StreamId(plan_id.stream_name());
    let write = StreamWrite {
        stream_id: stream_id.clone(),
        expected_version: ExpectedVersion::NoStream,
        events: events.iter().map(|event| new_event(event, None)).collect::<Result<_, _>>()?,
    };
    state.ledger.append(context, plan_id.to_string(), stream_id, vec![write]).await
}

/// Assigns a task or an indicator in a plan.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/tasks", request_body = AssignTaskBody, tag = "commands",
    params(("plan_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_task(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(plan_id): Path<Uuid>,
    body: StrictJson<AssignTaskBody>,
) -> Result<Response, ApiError> {
    let plan_id = PlanId(plan_id);
    let context = context(actor, headers, &format!("POST /v1/plans/{plan_id}/tasks"), &body);
    let outcome = assign_task_outcome(&state, &context, plan_id, body.value).await;
    Ok(accepted(or_replay(&state, &context, outcome).await?, task_location))
}

async fn assign_task_outcome(
    state: &AppState,
    context: &CommandContext,
    plan_id: PlanId,
    body: AssignTaskBody,
) -> Result<AppendOutcome, ApiError> {
    let (plan, plan_version) = state
        .ledger
        .load_plan(plan_id, ViewFilter::default())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} not found")))?;
    check_if_match(context, plan_version)?;
    let command = AssignTask {
        task_id: TaskId(Uuid::now_v7()),
        section: domain::numbering::parse_section("section", &body.section)?,
        number: domain::numbering::parse_task_number("number", &body.number.as_text())?,
        parent_id: body.parent_id.map(TaskId),
        title: domain::text::normalize(&body.title),
        target: body.target.as_ref().map(dto::target).transpose()?,
        deadline: body.deadline.as_deref().map(|value| dto::deadline("deadline", value)).transpose()?,
        lead_unit: dto::unit("lead_unit", &body.lead_unit)?,
        coordinating_units: dto::units("coordinating_units", &body.coordinating_units)?,
        basis: dto::documents("basis", &body.basis)?,
    };
    if command.title.chars().count() > dto::MAX_TEXT_CHARS {
        return Err(ApiError::invalid("title", format!("at most {} characters", dto::MAX_TEXT_CHARS)));
    }
    let parent = match command.parent_id {
        Some(parent_id) => state.ledger.current_task(parent_id).await?,
        None => None,
    };
    let (registered, assigned) = plan::assign_task(&plan, parent.as_deref(), command, &context.actor)?;
    let task_id = assigned.task_id;
    let task_stream = StreamId(task_id.stream_name());
    let writes = vec![
        StreamWrite {
            stream_id: StreamId(plan_id.stream_name()),
            expected_version: ExpectedVersion::Exact(plan_version),
            events: vec![new_event::<PlanEvent>(&registered, None)?],
        },
        StreamWrite {
            stream_id: task_stream.clone(),
            expected_version: ExpectedVersion::NoStream,
            events: vec![new_event(&TaskEvent::TaskAssigned(assigned), None)?],
        },
    ];
    state.ledger.append(context, task_id.to_string(), task_stream, writes).await
}

/// Files a progress report as of a cut-off date.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/reports", request_body = ReportBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn file_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<ReportBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/reports");
    let content = body.value.content();
    let report_id = ReportId(Uuid::now_v7());
    let task_id = TaskId(task_id);
    let request = TaskRequest { state: &state, actor, headers, route: &route, raw: &body.raw, task_id };
    // A new report's checks need none of the earlier reports (see `TaskCommand::needs_reports`).
    run_task_command_on(request, TaskFold::WithoutReports, report_id.to_string(), move || {
        Ok(TaskCommand::FileReport { report_id, content: content? })
    })
    .await
}

/// Corrects a report: a new version with a reason; the original stays in history.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/reports/{report_id}/corrections", request_body = CorrectionBody,
    tag = "commands", params(("task_id" = Uuid, Path), ("report_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn correct_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path((task_id, report_id)): Path<(Uuid, Uuid)>,
    body: StrictJson<CorrectionBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/reports/{report_id}/corrections");
    let reason = dto::text("reason", &body.value.reason);
    let content = body.value.content();
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), report_id.to_string(), move || {
        Ok(TaskCommand::CorrectReport { report_id: ReportId(report_id), reason: reason?, content: content? })
    })
    .await
}

/// Requests a deadline extension. The original deadline is kept.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/deadline-extensions", request_body = ExtensionRequestBody,
    tag = "commands", params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn request_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<ExtensionRequestBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/deadline-extensions");
    let extension_id = ExtensionId(Uuid::now_v7());
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), extension_id.to_string(), move || {
        Ok(TaskCommand::RequestExtension {
            extension_id,
            proposed_deadline: dto::deadline("proposed_deadline", &value.proposed_deadline)?,
            reason: dto::text("reason", &value.reason)?,
            basis: dto::documents("basis", &value.basis)?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        })
    })
    .await
}

/// Approves a deadline extension, citing the decision's documents.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/deadline-extensions/{extension_id}/approval",
    request_body = ExtensionApprovalBody, tag = "commands",
    params(("task_id" = Uuid, Path), ("extension_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path((task_id, extension_id)): Path<(Uuid, Uuid)>,
    body: StrictJson<ExtensionApprovalBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/deadline-extensions/{extension_id}/approval");
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), extension_id.to_string(), move || {
        Ok(TaskCommand::ApproveExtension {
            extension_id: ExtensionId(extension_id),
            new_deadline: value.new_deadline.as_deref().map(|v| dto::deadline("new_deadline", v)).transpose()?,
            basis: dto::documents("basis", &value.basis)?,
            note: dto::optional_text("note", value.note.as_deref())?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        })
    })
    .await
}

/// Rejects a deadline extension with a reason.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/deadline-extensions/{extension_id}/rejection",
    request_body = DecisionBody, tag = "commands", params(("task_id" = Uuid, Path), ("extension_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path((task_id, extension_id)): Path<(Uuid, Uuid)>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/deadline-extensions/{extension_id}/rejection");
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), extension_id.to_string(), move || {
        Ok(TaskCommand::RejectExtension {
            extension_id: ExtensionId(extension_id),
            reason: dto::text("reason", &value.reason)?,
            basis: dto::documents("basis", &value.basis)?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        })
    })
    .await
}

/// Reports completion; the task awaits the assigner's confirmation.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/completion", request_body = CompletionBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn report_completion(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<CompletionBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/completion");
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), task_id.to_string(), move || {
        Ok(TaskCommand::ReportCompletion {
            as_of: dto::date("as_of", &value.as_of)?,
            summary: dto::text("summary", &value.summary)?,
            evidence: dto::documents("evidence", &value.evidence)?,
        })
    })
    .await
}

/// Confirms a reported completion.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/completion/confirmation", request_body = ConfirmationBody,
    tag = "commands", params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn confirm_completion(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<ConfirmationBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/completion/confirmation");
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), task_id.to_string(), move || {
        Ok(TaskCommand::ConfirmCompletion {
            basis: dto::documents("basis", &value.basis)?,
            note: dto::optional_text("note", value.note.as_deref())?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        })
    })
    .await
}

/// Rejects a reported completion; the task is open again.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/completion/rejection", request_body = DecisionBody,
    tag = "commands", params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_completion(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    decision(state, actor, headers, task_id, body, "completion/rejection", |reason, basis, effective_on| {
        TaskCommand::RejectCompletion { reason, basis, effective_on }
    })
    .await
}

/// Suspends a task (tạm hoãn).
#[utoipa::path(post, path = "/v1/tasks/{task_id}/suspension", request_body = DecisionBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    decision(state, actor, headers, task_id, body, "suspension", |reason, basis, effective_on| TaskCommand::Suspend {
        reason,
        basis,
        effective_on,
    })
    .await
}

/// Cancels a task (huỷ).
#[utoipa::path(post, path = "/v1/tasks/{task_id}/cancellation", request_body = DecisionBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    decision(state, actor, headers, task_id, body, "cancellation", |reason, basis, effective_on| TaskCommand::Cancel {
        reason,
        basis,
        effective_on,
    })
    .await
}

/// Reopens a done, suspended, cancelled or transferred task.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/reopening", request_body = DecisionBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn reopen(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    decision(state, actor, headers, task_id, body, "reopening", |reason, basis, effective_on| TaskCommand::Reopen {
        reason,
        basis,
        effective_on,
    })
    .await
}

/// Transfers a task to another unit (điều chuyển).
#[utoipa::path(post, path = "/v1/tasks/{task_id}/transfer", request_body = TransferBody, tag = "commands",
    params(("task_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(task_id): Path<Uuid>,
    body: StrictJson<TransferBody>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/transfer");
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), task_id.to_string(), move || {
        Ok(TaskCommand::Transfer {
            to_unit: dto::unit("to_unit", &value.to_unit)?,
            reason: dto::text("reason", &value.reason)?,
            basis: dto::documents("basis", &value.basis)?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        })
    })
    .await
}

/// Runs a decision with a reason, basis and effective date on a task.
async fn decision(
    state: AppState,
    actor: domain::actor::Actor,
    headers: CommandHeaders,
    task_id: Uuid,
    body: StrictJson<DecisionBody>,
    route_suffix: &str,
    make: impl FnOnce(domain::text::NonEmptyText, Vec<domain::document_ref::DocumentRef>, time::Date) -> TaskCommand,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/tasks/{task_id}/{route_suffix}");
    let today = state.today();
    let value = body.value;
    run_task_command(&state, actor, headers, &route, &body.raw, TaskId(task_id), task_id.to_string(), move || {
        Ok(make(
            dto::text("reason", &value.reason)?,
            dto::documents("basis", &value.basis)?,
            dto::effective_on(value.effective_on.as_deref(), today)?,
        ))
    })
    .await
}

/// The common path of every command on an existing task, decided on the whole task. `make_command` builds the
/// command from the request once the task is known to exist and `If-Match` holds.
#[allow(clippy::too_many_arguments)]
async fn run_task_command(
    state: &AppState,
    actor: domain::actor::Actor,
    headers: CommandHeaders,
    route: &str,
    raw: &[u8],
    task_id: TaskId,
    subject_id: String,
    make_command: impl FnOnce() -> Result<TaskCommand, domain::error::DomainError>,
) -> Result<Response, ApiError> {
    let request = TaskRequest { state, actor, headers, route, raw, task_id };
    run_task_command_on(request, TaskFold::Whole, subject_id, make_command).await
}

/// A request for a command on an existing task, as its handler received it.
struct TaskRequest<'a> {
    state: &'a AppState,
    actor: domain::actor::Actor,
    headers: CommandHeaders,
    route: &'a str,
    raw: &'a [u8],
    task_id: TaskId,
}

/// [`run_task_command`] on the task as `fold` reads it when it is not kept folded.
async fn run_task_command_on(
    request: TaskRequest<'_>,
    fold: TaskFold,
    subject_id: String,
    make_command: impl FnOnce() -> Result<TaskCommand, domain::error::DomainError>,
) -> Result<Response, ApiError> {
    let TaskRequest { state, actor, headers, route, raw, task_id } = request;
    let context = CommandContext { actor, fingerprint: fingerprint(route, raw), headers };
    // The ledger may decide twice (see `Ledger::decide_on_task`), and again when the plan moved; the command is
    // made once.
    let mut make_command = Some(make_command);
    let mut command = None;
    let mut outcome = Err(ApiError::Conflict(
        "the task's plan kept changing while the command was decided; read the task again and retry".to_owned(),
    ));
    for attempt in 0..PLAN_GUARD_ATTEMPTS {
        let guard = match plan_guard(state, task_id, attempt > 0).await {
            Ok(guard) => guard,
            Err(refused) => {
                outcome = Err(refused);
                break;
            }
        };
        let decided = state
            .ledger
            .decide_on_task(&context, task_id, subject_id.clone(), guard.as_ref(), fold, |task| {
                let task = task.ok_or_else(|| ApiError::NotFound(format!("task {task_id} not found")))?;
                check_if_match(&context, task.version)?;
                let command = command.get_or_insert_with(|| make_command.take().expect("made once, then kept")());
                let command = command.clone()?;
                if fold == TaskFold::WithoutReports && command.needs_reports() {
                    return Err(ApiError::internal("a command that needs the task's reports was routed without them"));
                }
                Ok(task::decide(task, command, &context.actor)?)
            })
            .await;
        match decided {
            Ok(Err(GuardMoved)) => continue,
            Ok(Ok(appended)) => outcome = Ok(appended),
            Err(error) => outcome = Err(error),
        }
        break;
    }
    let outcome = or_replay(state, &context, outcome).await?;
    Ok(accepted(outcome, |_| format!("/v1/tasks/{task_id}")))
}

/// How many times a task command is decided on its plan before a plan that keeps moving is answered 409.
const PLAN_GUARD_ATTEMPTS: u32 = 4;

/// Refuses a task command while the task's plan is frozen (409, naming the freeze), and otherwise answers the plan
/// stream's version the command is decided against, for its append to expect (see `ledger::Guard`). The plan is
/// the last fold kept here (`plan_cache`), brought up to date from the store when `refresh` (the plan moved under
/// an earlier attempt); the task's plan comes from the cached task when there is one.
async fn plan_guard(state: &AppState, task_id: TaskId, refresh: bool) -> Result<Option<Guard>, ApiError> {
    let Some(plan_id) = state.ledger.plan_of_task(task_id).await? else {
        return Ok(None);
    };
    let store = state.ledger.store();
    let mut plan = if refresh {
        state.plans.current(store, plan_id).await?
    } else {
        state.plans.last_known(store, plan_id).await?
    };
    // A refusal stands only on the plan as it stands now: a kept fold may predate the unfreeze.
    if !refresh && plan.as_ref().is_some_and(|(plan, _)| domain::oversight::require_not_frozen(plan).is_err()) {
        plan = state.plans.current(store, plan_id).await?;
    }
    let Some((plan, version)) = plan else {
        return Ok(None);
    };
    domain::oversight::require_not_frozen(&plan)?;
    Ok(Some(Guard { stream_id: StreamId(plan_id.stream_name()), version }))
}

/// A command refused before or at its append answers, if it carries an idempotency key that was used before,
/// the first outcome (or 422 for another request under the same key): a retry of a command that succeeded must
/// not fail because its decision no longer holds (its `If-Match` names the old version, the completion is already
/// reported). The append itself answers replays of commands that still decide, so only refusals ask the store.
async fn or_replay(
    state: &AppState,
    context: &CommandContext,
    outcome: Result<AppendOutcome, ApiError>,
) -> Result<AppendOutcome, ApiError> {
    match outcome {
        Ok(outcome) => Ok(outcome),
        Err(error) => match state.ledger.replay(context).await? {
            Some(first) => Ok(first),
            None => Err(error),
        },
    }
}

pub(crate) fn context<T>(
    actor: domain::actor::Actor,
    headers: CommandHeaders,
    route: &str,
    body: &StrictJson<T>,
) -> CommandContext {
    CommandContext { actor, fingerprint: fingerprint(route, &body.raw), headers }
}

pub(crate) fn check_if_match(context: &CommandContext, current_version: u64) -> Result<(), ApiError> {
    match context.headers.if_match {
        Some(expected) if expected != current_version => Err(ApiError::PreconditionFailed(format!(
            "If-Match expects version {expected} but the stream is at version {current_version}; read it again"
        ))),
        _ => Ok(()),
    }
}

fn plan_location(plan_id: &str) -> String {
    format!("/v1/plans/{plan_id}")
}

fn task_location(task_id: &str) -> String {
    format!("/v1/tasks/{task_id}")
}

/// The `201 Created` answer; `location` maps the subject id to the resource the command created or changed.
pub(crate) fn accepted(outcome: AppendOutcome, location: impl FnOnce(&str) -> String) -> Response {
    let body = CommandAccepted {
        id: outcome.subject_id.clone(),
        version: outcome.subject_version,
        position: outcome.last_position,
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", outcome.subject_version)) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&location(&outcome.subject_id)) {
        headers.insert(header::LOCATION, value);
    }
    if outcome.replayed {
        headers.insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    (StatusCode::CREATED, headers, Json(body)).into_response()
}
