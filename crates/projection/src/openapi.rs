//! The projection service's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::{queries, routes};

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_plans,
        routes::board,
        routes::appendix,
        routes::plan_statistics,
        routes::unit_statistics,
        routes::projections,
    ),
    components(schemas(
        queries::PlanSummary,
        queries::BoardTask,
        queries::Statistics,
        queries::UnitStatistics,
        routes::AppendixView,
        routes::PlanStatistics,
        routes::ProjectionStatus,
    ))
)]
pub struct ProjectionApiDoc;
