//! The OpenAPI document, generated from the handlers' and bodies' annotations and served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{appendix, audit, commands, diff, dto, history, oversight, queries, report_requests};
use http_api::error;

#[derive(OpenApi)]
#[openapi(
    info(title = "taskledger", description = "The ledger of assigned tasks: every change is an immutable, hash-chained event."),
    paths(
        commands::create_plan,
        commands::assign_task,
        commands::file_report,
        commands::correct_report,
        commands::request_extension,
        commands::approve_extension,
        commands::reject_extension,
        commands::report_completion,
        commands::confirm_completion,
        commands::reject_completion,
        commands::suspend,
        commands::cancel,
        commands::transfer,
        commands::reopen,
        queries::get_plan,
        queries::get_task,
        history::get_task_history,
        history::get_plan_history,
        diff::task_diff,
        appendix::appendix_diff,
        audit::search,
        oversight::freeze,
        oversight::unfreeze,
        oversight::issue_report,
        oversight::list_issued_reports,
        oversight::verify_issued_report,
        report_requests::request_reports,
        report_requests::withdraw_report_request,
        report_requests::list_report_requests,
    ),
    components(schemas(
        dto::CommandAccepted,
        dto::CreatePlanBody,
        dto::SectionBody,
        dto::AssignTaskBody,
        dto::NumberOrText,
        dto::TargetBody,
        dto::ReportBody,
        dto::CorrectionBody,
        dto::MeasureBody,
        dto::ExtensionRequestBody,
        dto::ExtensionApprovalBody,
        dto::CompletionBody,
        dto::ConfirmationBody,
        dto::DecisionBody,
        dto::TransferBody,
        dto::IssueReportBody,
        dto::ReportRequestBody,
        dto::WithdrawalBody,
        history::HistoryEntry,
        history::HistoryActor,
        history::CorrectedVersion,
        history::DecidedRequest,
        diff::TaskDiff,
        diff::FieldChange,
        diff::ChangeEvent,
        appendix::AppendixDiff,
        appendix::RowDiff,
        appendix::ColumnChange,
        audit::AuditPage,
        oversight::IssuedReportView,
        oversight::Verification,
        error::Problem,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
