//! Report requests over HTTP: the assigner asks the lead units of a plan to report as of a cut-off date
//! (`POST /v1/plans/{plan_id}/report-requests`), withdraws a request
//! (`POST /v1/plans/{plan_id}/report-requests/{request_id}/withdrawal`), and lists them
//! (`GET /v1/plans/{plan_id}/report-requests`).
//!
//! The decisions are the domain's (`domain::report_request`); the events go on the plan stream through
//! `oversight::run_plan_command`, like every other command on a plan. The notification service reads them to
//! remind the units whose tasks have no report for the cut-off.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use domain::ids::{PlanId, ReportRequestId};
use domain::plan::PlanEvent;
use domain::report_request::{self, ReportRequest, RequestReport, WithdrawReportRequest};
use uuid::Uuid;

use crate::audit::{record_read, ReadRecord};
use crate::dto::{self, CommandAccepted, ReportRequestBody, WithdrawalBody};
use crate::ledger::ViewFilter;
use crate::oversight::run_plan_command;
use crate::AppState;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, CommandHeaders, StrictJson};

/// Requests reports as of a cut-off date, expected by `due_on` (the cut-off itself when absent), of the units
/// listed (every lead unit of the plan when none). Answers the request's id.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/report-requests", request_body = ReportRequestBody, tag = "commands",
    params(("plan_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn request_reports(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path(plan_id): Path<Uuid>,
    body: StrictJson<ReportRequestBody>,
) -> Result<Response, ApiError> {
    let plan_id = PlanId(plan_id);
    let request_id = ReportRequestId(Uuid::now_v7());
    let value = &body.value;
    let cut_off = dto::date("cut_off", &value.cut_off)?;
    let due_on = match value.due_on.as_deref() {
        Some(due_on) => dto::date("due_on", due_on)?,
        None => cut_off,
    };
    let command = RequestReport {
        plan_id,
        request_id,
        cut_off,
        due_on,
        units: dto::units("units", &value.units)?,
        basis: dto::documents("basis", &value.basis)?,
        note: dto::free_text("note", &value.note)?,
    };
    run_plan_command(
        &state,
        actor,
        headers,
        plan_id,
        "report-requests",
        &body,
        request_id.to_string(),
        |plan, actor| Ok(PlanEvent::ReportRequested(report_request::request_report(Some(plan), command, actor)?)),
    )
    .await
}

/// Withdraws a report request that still stands.
#[utoipa::path(post, path = "/v1/plans/{plan_id}/report-requests/{request_id}/withdrawal",
    request_body = WithdrawalBody, tag = "commands",
    params(("plan_id" = Uuid, Path), ("request_id" = Uuid, Path)),
    responses((status = 201, body = CommandAccepted), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn withdraw_report_request(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    headers: CommandHeaders,
    Path((plan_id, request_id)): Path<(Uuid, Uuid)>,
    body: StrictJson<WithdrawalBody>,
) -> Result<Response, ApiError> {
    let plan_id = PlanId(plan_id);
    let request_id = ReportRequestId(request_id);
    let command = WithdrawReportRequest { plan_id, request_id, reason: dto::text("reason", &body.value.reason)? };
    let route_suffix = format!("report-requests/{request_id}/withdrawal");
    run_plan_command(&state, actor, headers, plan_id, &route_suffix, &body, request_id.to_string(), |plan, actor| {
        Ok(PlanEvent::ReportRequestWithdrawn(report_request::withdraw_report_request(Some(plan), command, actor)?))
    })
    .await
}

/// Every report request of a plan, withdrawn ones included (with `withdrawal_reason`), in request order.
#[utoipa::path(get, path = "/v1/plans/{plan_id}/report-requests", tag = "queries", params(("plan_id" = Uuid, Path)),
    responses((status = 200, body = Vec<Object>), (status = 404, body = Problem)))]
pub async fn list_report_requests(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Path(plan_id): Path<Uuid>,
) -> Result<Json<Vec<ReportRequest>>, ApiError> {
    let plan_id = PlanId(plan_id);
    let (plan, _) = crate::queries::load_plan(&state, plan_id, ViewFilter::default()).await?;
    let resource = format!("/v1/plans/{plan_id}/report-requests");
    let n_requests = plan.report_requests.len();
    record_read(&state, &actor, ReadRecord::new(&resource, String::new(), Some(plan_id), n_requests)).await?;
    Ok(Json(plan.report_requests))
}
