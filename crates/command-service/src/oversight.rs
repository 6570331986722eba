//! Oversight of a plan over HTTP: freezing it for an inspection and lifting the freeze, recording an issued report
//! with the hash of its appendix, listing the issued reports and verifying that the ledger still reproduces one.
//!
//! The decisions are the domain's (`domain::oversight`); the appendix and its canonical hash are `appendix`'s.
//! Task commands check the freeze through `plan_cache` (see `commands::run_task_command`).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use domain::ids::{IssuedReportId, PlanId};
use domain::oversight::{self, FreezePlan, IssueReport, IssuedReport, UnfreezePlan};
use domain::plan::PlanEvent;
use event_store::{ExpectedVersion, StreamId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::appendix;
use crate::audit::{record_read, ReadRecord};
use crate::commands::{accepted, check_if_match, context};
use crate::dto::{self, CommandAccepted, DecisionBody, IssueReportBody};
use crate::ledger::{new_event, StreamWrite, ViewFilter};
use crate::queries::vietnam_time;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, CommandHeaders, StrictJson};

/// Freezes a plan for an inspection: every command on it and its tasks is refused (409) until it is unfrozen.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/freeze", request_body = DecisionBody, tag = "commands",
    params(("plan_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn freeze(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(plan_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let today = state.today();
    run_plan_command(&state, actor, headers, PlanId(plan_id), "freeze", &body, plan_id.to_string(), |plan, actor| {
        let value = &body.value;
        let command = FreezePlan {
            reason: dto::text("reason", &value.reason)?,
            basis: dto::documents("basis", &value.basis)?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        };
        Ok(PlanEvent::PlanFrozen(oversight::freeze_plan(plan, command, actor)?))
    })
    .await
}

/// Lifts the freeze of a plan.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/unfreeze", request_body = DecisionBody, tag = "commands",
    params(("plan_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn unfreeze(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(plan_id): Path<Uuid>,
    body: StrictJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let today = state.today();
    run_plan_command(&state, actor, headers, PlanId(plan_id), "unfreeze", &body, plan_id.to_string(), |plan, actor| {
        let value = &body.value;
        let command = UnfreezePlan {
            reason: dto::text("reason", &value.reason)?,
            basis: dto::documents("basis", &value.basis)?,
            effective_on: dto::effective_on(value.effective_on.as_deref(), today)?,
        };
        Ok(PlanEvent::PlanUnfrozen(oversight::unfreeze_plan(plan, command, actor)?))
    })
    .await
}

/// Records that a report was issued: the appendix as of its cut-off is computed from every event recorded so far,
/// and its content hash is stored with the report's number, signer and issue date.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/issued-reports", request_body = IssueReportBody, tag = "commands",
    params(("plan_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn issue_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(plan_id): Path<Uuid>,
    body: StrictJson<IssueReportBody>,
) -> Result<Response, ApiError> {
    let plan_id = PlanId(plan_id);
    let value = &body.value;
    let cut_off = crate::axes::parse_as_of("cut_off", &value.cut_off)?;
    let issued_on = match value.issued_on.as_deref() {
        Some(issued_on) => crate::axes::parse_as_of("issued_on", issued_on)?,
        None => state.today(),
    };
    // Everything up to the head as it is now: the hash is reproducible from exactly these events.
    let known_at_position = state.ledger.store().head().await?.position;
    let filter = ViewFilter { known_at_position: Some(known_at_position), ..ViewFilter::default() };
    let (_, rows) = appendix::compute(&state, plan_id, cut_off, filter)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} not found")))?;
    let appendix_sha256 = appendix::content_sha256(&rows);
    let issued_report_id = IssuedReportId(Uuid::now_v7());
    run_plan_command(
        &state,
        actor,
        headers,
        plan_id,
        "issued-reports",
        &body,
        issued_report_id.to_string(),
        |plan, actor| {
            let command = IssueReport {
                issued_report_id,
                number: dto::text("number", &value.number)?,
                cut_off,
                signer: dto::text("signer", &value.signer)?,
                issued_on,
                known_at_position,
                appendix_sha256,
                n_rows: u32::try_from(rows.len()).unwrap_or(u32::MAX),
            };
            Ok(PlanEvent::ReportIssued(oversight::issue_report(plan, command, actor)?))
        },
    )
    .await
}

/// An issued report as recorded, with where the record is in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedReportView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub report: IssuedReport,
    /// The position of the `ReportIssued` event.
    pub position: u64,
    /// When it was recorded (ISO 8601, +07:00) and by whom.
    pub recorded_at: String,
    pub recorded_by: String,
    /// The chain hash of the `ReportIssued` event.
    pub event_hash: String,
}

/// The reports issued on a plan, in issue order.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/issued-reports", tag = "queries", params(("plan_id" = Uuid, Path)),
    responses((status = 200, body = Vec<IssuedReportView>), (status = 404, body = Problem)))]
pub async fn list_issued_reports(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(plan_id): Path<Uuid>,
) -> Result<Json<Vec<IssuedReportView>>, ApiError> {
    let plan_id = PlanId(plan_id);
    let issued = issued_reports(&state, plan_id).await?;
    let resource = format!("/v1/plans/{plan_id}/issued-reports");
    record_read(&state, &actor, ReadRecord::new(&resource, String::new(), Some(plan_id), issued.len())).await?;
    Ok(Json(issued))
}

/// What a verification found.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub issued_report_id: Uuid,
    pub number: String,
    pub cut_off: String,
    pub known_at_position: u64,
    /// The hash recorded when the report was issued.
    pub recorded_sha256: String,
    /// The hash of the appendix recomputed now, as of the cut-off, from the events up to `known_at_position`.
    pub recomputed_sha256: String,
    /// Whether the ledger still reproduces exactly what was issued.
    pub verified: bool,
    /// The hash of the appendix as of the cut-off as the ledger knows it now (corrections included).
    pub current_sha256: String,
    /// The rows that read differently now than in the issued report, with the events recorded since.
    pub changed_since_issue: Vec<appendix::RowDiff>,
}

/// Recomputes the appendix of an issued report (as of its cut-off, from the events known when it was issued) and
/// compares its hash with the recorded one; also says what reads differently today.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/issued-reports/{issued_report_id}/verification", tag = "audit",
    params(("plan_id" = Uuid, Path), ("issued_report_id" = Uuid, Path)),
    responses((status = 200, body = Verification), (status = 404, body = Problem)))]
pub async fn verify_issued_report(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path((plan_id, issued_report_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<Verification>, ApiError> {
    let plan_id = PlanId(plan_id);
    let issued = issued_reports(&state, plan_id)
        .await?
        .into_iter()
        .find(|issued| issued.report.issued_report_id.0 == issued_report_id)
        .ok_or_else(|| ApiError::NotFound(format!("issued report {issued_report_id} of plan {plan_id} not found")))?;
    let report = issued.report;
    let then = ViewFilter { known_at_position: Some(report.known_at_position), ..ViewFilter::default() };
    let (_, issued_rows) = appendix::compute(&state, plan_id, report.cut_off, then)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} not found")))?;
    let (_, current_rows) = appendix::compute(&state, plan_id, report.cut_off, ViewFilter::default())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {plan_id} not found")))?;
    let recomputed_sha256 = appendix::content_sha256(&issued_rows);
    let points = crate::diff::DiffPoints {
        from: crate::axes::Point::Known(crate::axes::KnownAt::Position(report.known_at_position)),
        to: crate::axes::Point::Known(crate::axes::KnownAt::Position(state.ledger.store().head().await?.position)),
        base: ViewFilter { as_of: Some(report.cut_off), ..ViewFilter::default() },
    };
    let changed_since_issue = appendix::row_diffs(&state, &issued_rows, &current_rows, points).await?;
    let verification = Verification {
        issued_report_id,
        number: report.number.as_str().to_owned(),
        cut_off: report.cut_off.to_string(),
        known_at_position: report.known_at_position,
        verified: recomputed_sha256 == report.appendix_sha256,
        recorded_sha256: report.appendix_sha256,
        recomputed_sha256,
        current_sha256: appendix::content_sha256(&current_rows),
        changed_since_issue,
    };
    let resource = format!("/v1/plans/{plan_id}/issued-reports/{issued_report_id}/verification");
    record_read(&state, &actor, ReadRecord::new(&resource, String::new(), Some(plan_id), issued_rows.len())).await?;
    Ok(Json(verification))
}

/// The issued reports of a plan with the provenance of their events.
async fn issued_reports(state: &AppState, plan_id: PlanId) -> Result<Vec<IssuedReportView>, ApiError> {
    let events = state.ledger.plan_events(plan_id).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound(format!("plan {plan_id} not found")));
    }
    Ok(events
        .into_iter()
        .filter_map(|(event, stored)| match event {
            PlanEvent::ReportIssued(issued) => Some(IssuedReportView {
                report: IssuedReport::from(&issued),
                position: stored.global_position,
                recorded_at: vietnam_time(stored.recorded_at),
                recorded_by: stored.actor.name.clone(),
                event_hash: stored.hash.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// The common path of a command on a plan: replay, load the plan, decide, append with the plan's version.
/// The answer's `Location` is the plan's for a command whose subject is the plan, and otherwise where the subject
/// (an issued report, a report request) is read, after the route it was made on.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_plan_command<T>(
    state: &AppState,
    actor: domain::actor::Actor,
    headers: CommandHeaders,
    plan_id: PlanId,
    route_suffix: &str,
    body: &StrictJson<T>,
    subject_id: String,
    decide: impl FnOnce(&domain::plan::Plan, &domain::actor::Actor) -> Result<PlanEvent, domain::error::DomainError>,
) -> Result<Response, ApiError> {
    let context = context(actor, headers, &format!("POST /v1/plans/{plan_id}/{route_suffix}"), body);
    let location = |subject_id: &str| {
        if subject_id == plan_id.to_string() {
            format!("/v1/plans/{plan_id}")
        } else if route_suffix.starts_with("report-requests") {
            format!("/v1/plans/{plan_id}/report-requests")
        } else {
            format!("/v1/plans/{plan_id}/issued-reports/{subject_id}/verification")
        }
    };
    if let Some(outcome) = state.ledger.replay(&context).await? {
        return Ok(accepted(outcome, location));
    }
    let (plan, version) = crate::queries::load_plan(state, plan_id, ViewFilter::default()).await?;
    check_if_match(&context, version)?;
    let event = decide(&plan, &context.actor)?;
    let stream_id = StreamId(plan_id.stream_name());
    let write = StreamWrite {
        stream_id: stream_id.clone(),
        expected_version: ExpectedVersion::Exact(version),
        events: vec![new_event(&event, event.effective_date())?],
    };
    let outcome = state.ledger.append(&context, subject_id, stream_id, vec![write]).await?;
    Ok(accepted(outcome, location))
}
