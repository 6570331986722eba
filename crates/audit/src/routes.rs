//! The audit endpoints: signed checkpoints, the log's public key, inclusion and consistency proofs. Every call
//! needs a bearer token; signing a checkpoint on demand needs the admin or auditor role. Hashes are lowercase hex,
//! proofs are arrays of hashes deepest first, as `docs/transparency-log.md` specifies.

use std::sync::Arc;

use auth::TokenKey;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use domain::actor::Role;
use http_api::error::{ApiError, Problem};
use http_api::extract::{Authenticated, StrictQuery};
use http_api::Clock;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use transparency::merkle::Hash;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::log::{AuditError, AuditLog, ConsistencyProof, InclusionProof, SignedCheckpoint};

/// What the audit handlers share.
#[derive(Clone)]
pub struct AuditState {
    pub log: Arc<AuditLog>,
    pub token_key: Arc<TokenKey>,
    pub clock: Arc<dyn Clock>,
    pub body_limit_bytes: usize,
}

impl http_api::ApiState for AuditState {
    fn token_key(&self) -> &TokenKey {
        &self.token_key
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn body_limit_bytes(&self) -> usize {
        self.body_limit_bytes
    }
}

pub fn router(state: AuditState) -> Router {
    Router::new()
        .route("/v1/audit/checkpoints", get(list_checkpoints).post(create_checkpoint))
        .route("/v1/audit/checkpoints/latest", get(latest_checkpoint))
        .route("/v1/audit/checkpoints/{tree_size}", get(checkpoint_of_size))
        .route("/v1/audit/public-key", get(public_key))
        .route("/v1/audit/proofs/inclusion", get(inclusion_proof))
        .route("/v1/audit/proofs/consistency", get(consistency_proof))
        .with_state(state)
}

/// A signed checkpoint: the note as signed, and its fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointView {
    /// The log's name, first line of the note.
    pub origin: String,
    /// Number of events the checkpoint covers (positions 1 to tree_size).
    pub tree_size: u64,
    /// Merkle root of those events, lowercase hex.
    pub root_hash: String,
    /// The same root as the note writes it (standard base64).
    pub root_hash_base64: String,
    /// When the log signed it, from the note's `time` line (RFC 3339, UTC).
    pub time: Option<String>,
    /// The signed note, verbatim: what a verifier checks with the public key.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    pub checkpoints: Vec<CheckpointView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// The key that verifies every checkpoint of this log.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyView {
    /// The verifier key in signed-note form: `<name>+<key id>+<base64(0x01 || ed25519 public key)>`.
    pub verifier_key: String,
    /// The key's name, which is the checkpoints' origin.
    pub key_name: String,
    /// The 4-byte key id, 8 hex digits.
    pub key_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    pub event_id: Uuid,
    pub global_position: u64,
    /// 0-based: global_position − 1.
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The event's chain hash (the leaf data).
    pub event_hash: String,
    /// SHA-256(0x00 || chain hash bytes).
    pub leaf_hash: String,
    /// The root the proof leads to.
    pub root_hash: String,
    /// Sibling hashes, deepest first.
    pub proof: Vec<String>,
    /// The signed checkpoint of tree_size, when one is stored.
    pub checkpoint: Option<CheckpointView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofView {
    pub from: u64,
    pub to: u64,
    pub from_root_hash: String,
    pub to_root_hash: String,
    /// Deepest first; empty when from is 0 or equal to to.
    pub proof: Vec<String>,
    pub from_checkpoint: Option<CheckpointView>,
    pub to_checkpoint: Option<CheckpointView>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only checkpoints of more events than this.
    pub after: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    /// The event to prove.
    pub event_id: Option<String>,
    /// The tree to prove it in; the latest checkpoint's when absent.
    pub tree_size: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older tree size.
    pub from: Option<String>,
    /// The newer tree size; the latest checkpoint's when absent.
    pub to: Option<String>,
}

/// Signs a checkpoint of the whole log now (admin or auditor). 201 with a new checkpoint; 200 with the latest one
/// when the log has not grown since.
#[utoipa::path(post, path = "/v1/audit/checkpoints", tag = "audit",
    responses((status = 201, body = CheckpointView), (status = 200, body = CheckpointView),
        (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create_checkpoint(
    State(state): State<AuditState>,
    Authenticated(actor): Authenticated,
) -> Result<(StatusCode, Json<CheckpointView>), ApiError> {
    if !matches!(actor.role, Role::Admin | Role::Auditor) {
        return Err(ApiError::Forbidden("only an admin or an auditor may ask for a checkpoint".to_owned()));
    }
    let (signed, created) = state.log.make_checkpoint(state.clock.now()).await.map_err(audit_error)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&signed))))
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/checkpoints/latest", tag = "audit",
    responses((status = 200, body = CheckpointView), (status = 404, body = Problem)))]
pub async fn latest_checkpoint(
    State(state): State<AuditState>,
    _: Authenticated,
) -> Result<Json<CheckpointView>, ApiError> {
    let latest = state.log.latest_checkpoint().await.map_err(audit_error)?;
    let latest = latest.ok_or_else(|| ApiError::NotFound("no checkpoint has been signed yet".to_owned()))?;
    Ok(Json(view(&latest)))
}

/// The signed checkpoint of exactly `tree_size` events.
#[utoipa::path(get, path = "/v1/audit/checkpoints/{tree_size}", tag = "audit",
    params(("tree_size" = u64, Path, description = "number of events the checkpoint covers")),
    responses((status = 200, body = CheckpointView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn checkpoint_of_size(
    State(state): State<AuditState>,
    _: Authenticated,
    Path(tree_size): Path<String>,
) -> Result<Json<CheckpointView>, ApiError> {
    let tree_size = number("tree_size", &tree_size)?;
    let signed = state.log.checkpoint(tree_size).await.map_err(audit_error)?;
    let signed =
        signed.ok_or_else(|| ApiError::NotFound(format!("no checkpoint was signed at tree size {tree_size}")))?;
    Ok(Json(view(&signed)))
}

/// Signed checkpoints, smallest tree size first.
#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "audit", params(ListParams),
    responses((status = 200, body = CheckpointList), (status = 422, body = Problem)))]
pub async fn list_checkpoints(
    State(state): State<AuditState>,
    _: Authenticated,
    StrictQuery(params): StrictQuery<ListParams>,
) -> Result<Json<CheckpointList>, ApiError> {
    let after = params.after.as_deref().map(|value| number("after", value)).transpose()?.unwrap_or(0);
    let limit = params.limit.as_deref().map(|value| number("limit", value)).transpose()?.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let signed = state.log.checkpoints(after, limit as usize).await.map_err(audit_error)?;
    let next_after = (signed.len() as u64 == limit).then(|| signed.last().map(|last| last.checkpoint.size())).flatten();
    Ok(Json(CheckpointList { checkpoints: signed.iter().map(view).collect(), next_after }))
}

/// The verifier key of the log, to check checkpoints with.
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit", responses((status = 200, body = PublicKeyView)))]
pub async fn public_key(State(state): State<AuditState>, _: Authenticated) -> Json<PublicKeyView> {
    let key = state.log.verifier_key();
    Json(PublicKeyView {
        verifier_key: key.to_text(),
        key_name: key.name().to_owned(),
        key_id: format!("{:08x}", key.key_id()),
    })
}

/// The inclusion proof of an event in a signed tree.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", params(InclusionParams),
    responses((status = 200, body = InclusionProofView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn inclusion_proof(
    State(state): State<AuditState>,
    _: Authenticated,
    StrictQuery(params): StrictQuery<InclusionParams>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let event_id = params.event_id.as_deref().ok_or_else(|| ApiError::invalid("event_id", "is required"))?;
    let event_id =
        Uuid::parse_str(event_id).map_err(|_| ApiError::invalid("event_id", "must be a UUID such as 0190f5c4-…"))?;
    let tree_size = params.tree_size.as_deref().map(|value| number("tree_size", value)).transpose()?;
    let proof = state.log.inclusion_proof(event_id, tree_size, state.clock.now()).await.map_err(audit_error)?;
    Ok(Json(inclusion_view(&proof)))
}

/// The consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", params(ConsistencyParams),
    responses((status = 200, body = ConsistencyProofView), (status = 422, body = Problem)))]
pub async fn consistency_proof(
    State(state): State<AuditState>,
    _: Authenticated,
    StrictQuery(params): StrictQuery<ConsistencyParams>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let from = params.from.as_deref().ok_or_else(|| ApiError::invalid("from", "is required"))?;
    let from = number("from", from)?;
    let to = params.to.as_deref().map(|value| number("to", value)).transpose()?;
    let proof = state.log.consistency_proof(from, to).await.map_err(audit_error)?;
    Ok(Json(consistency_view(&proof)))
}

pub fn view(signed: &SignedCheckpoint) -> CheckpointView {
    let checkpoint = &signed.checkpoint;
    let time = checkpoint.time().and_then(|seconds| {
        let instant = OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).ok()?).ok()?;
        instant.format(&Rfc3339).ok()
    });
    CheckpointView {
        origin: checkpoint.origin().to_owned(),
        tree_size: checkpoint.size(),
        root_hash: hex::encode(checkpoint.root()),
        root_hash_base64: BASE64.encode(checkpoint.root()),
        time,
        note: signed.note.clone(),
    }
}

pub fn inclusion_view(proof: &InclusionProof) -> InclusionProofView {
    InclusionProofView {
        event_id: proof.event_id,
        global_position: proof.global_position,
        leaf_index: proof.global_position - 1,
        tree_size: proof.tree_size,
        event_hash: proof.event_hash.clone(),
        leaf_hash: hex::encode(proof.leaf_hash),
        root_hash: hex::encode(proof.root),
        proof: hex_list(&proof.hashes),
        checkpoint: proof.checkpoint.as_ref().map(view),
    }
}

pub fn consistency_view(proof: &ConsistencyProof) -> ConsistencyProofView {
    ConsistencyProofView {
        from: proof.from,
        to: proof.to,
        from_root_hash: hex::encode(proof.from_root),
        to_root_hash: hex::encode(proof.to_root),
        proof: hex_list(&proof.hashes),
        from_checkpoint: proof.from_checkpoint.as_ref().map(view),
        to_checkpoint: proof.to_checkpoint.as_ref().map(view),
    }
}

fn hex_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn number(field: &str, value: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|_| ApiError::invalid(field, format!("{value:?} is not a whole number of events")))
}

/// The one place where the log's errors become HTTP answers.
fn audit_error(error: AuditError) -> ApiError {
    match error {
        AuditError::Store(store) => store.into(),
        AuditError::UnknownEvent { .. } => ApiError::NotFound(error.to_string()),
        AuditError::OutOfRange { field, reason } => ApiError::invalid(field, reason),
        AuditError::EmptyLog => ApiError::Conflict(error.to_string()),
        other @ (AuditError::CorruptHash { .. }
        | AuditError::PositionGap { .. }
        | AuditError::ForeignCheckpoint { .. }
        | AuditError::Diverged { .. }) => ApiError::internal(other),
    }
}
