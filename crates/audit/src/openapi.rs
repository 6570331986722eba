//! The audit endpoints' part of the OpenAPI document.

use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create_checkpoint,
        routes::latest_checkpoint,
        routes::checkpoint_of_size,
        routes::list_checkpoints,
        routes::public_key,
        routes::inclusion_proof,
        routes::consistency_proof,
    ),
    components(schemas(
        routes::CheckpointView,
        routes::CheckpointList,
        routes::PublicKeyView,
        routes::InclusionProofView,
        routes::ConsistencyProofView,
    ))
)]
pub struct AuditApiDoc;
