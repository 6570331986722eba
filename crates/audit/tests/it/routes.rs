//! The audit endpoints, called through the router as a client would, on a store of 10 events.

use std::sync::Arc;

use audit::log::AuditLog;
use audit::routes::{router, AuditState};
use auth::TokenKey;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use http_api::SystemClock;
use serde_json::Value;
use tower::ServiceExt as _;
use transparency::checkpoint::VerifierKey;
use transparency::merkle::{leaf_hash_for_event_hash, verify_consistency, verify_inclusion, Hash};

use crate::support::{append_events, log_key, store_with_events, TestLog};

struct Api {
    router: Router,
    token_key: TokenKey,
    test_log: TestLog,
}

async fn api() -> Api {
    let test_log = store_with_events(10).await;
    let log = Arc::new(AuditLog::open(test_log.store.clone(), log_key()).await.expect("the tree"));
    let token_key = TokenKey::generate();
    let state = AuditState {
        log,
        token_key: Arc::new(token_key.clone()),
        clock: Arc::new(SystemClock),
        body_limit_bytes: 64 * 1024,
    };
    Api { router: router(state), token_key, test_log }
}

impl Api {
    fn token(&self, role: Role) -> String {
        let actor = Actor {
            id: "u-1".to_owned(),
            name: "Phạm Thị Dung".to_owned(),
            unit: UnitCode::parse("TTR-TINH").expect("a unit"),
            role,
        };
        auth::mint(&self.token_key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(1)).expect("token")
    }

    async fn call(&self, method: &str, uri: &str, role: Option<Role>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(role) = role {
            request = request.header("authorization", format!("Bearer {}", self.token(role)));
        }
        let response =
            self.router.clone().oneshot(request.body(Body::empty()).expect("a request")).await.expect("an answer");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("the body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, Some(Role::Reporter)).await
    }
}

fn hash(value: &Value) -> Hash {
    hex::decode(value.as_str().expect("a hex string")).expect("hex").try_into().expect("32 bytes")
}

fn proof(value: &Value) -> Vec<Hash> {
    value.as_array().expect("an array").iter().map(hash).collect()
}

#[tokio::test]
async fn every_call_needs_a_token_and_signing_needs_admin_or_auditor() {
    let api = api().await;
    assert_eq!(api.call("GET", "/v1/audit/checkpoints/latest", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call("POST", "/v1/audit/checkpoints", Some(Role::Reporter)).await.0, StatusCode::FORBIDDEN);
    let (status, body) = api.get("/v1/audit/checkpoints/latest").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(api.call("POST", "/v1/audit/checkpoints", Some(Role::Auditor)).await.0, StatusCode::CREATED);
    assert_eq!(api.call("POST", "/v1/audit/checkpoints", Some(Role::Admin)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_latest_checkpoint_opens_with_the_published_key() {
    let api = api().await;
    api.call("POST", "/v1/audit/checkpoints", Some(Role::Admin)).await;
    let (status, key) = api.get("/v1/audit/public-key").await;
    assert_eq!(status, StatusCode::OK);
    let verifier = VerifierKey::from_text(key["verifier_key"].as_str().expect("a key")).expect("a verifier key");
    let (status, latest) = api.get("/v1/audit/checkpoints/latest").await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    let checkpoint =
        transparency::checkpoint::open(latest["note"].as_str().expect("a note"), &verifier).expect("opens");
    assert_eq!((checkpoint.size(), latest["tree_size"].as_u64()), (10, Some(10)));
    assert_eq!(*checkpoint.root(), hash(&latest["root_hash"]));
    assert!(latest["time"].as_str().is_some());

    let (status, by_size) = api.get("/v1/audit/checkpoints/10").await;
    assert_eq!((status, &by_size["note"]), (StatusCode::OK, &latest["note"]));
    let (status, list) = api.get("/v1/audit/checkpoints?after=0&limit=5").await;
    assert_eq!((status, list["checkpoints"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
}

#[tokio::test]
async fn an_inclusion_proof_leads_to_the_checkpoint_root() {
    let api = api().await;
    let events = api.test_log.store.read_all(0, 100).await.expect("read");
    let event = &events[6];
    let (status, body) = api.get(&format!("/v1/audit/proofs/inclusion?event_id={}", event.event_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["global_position"].as_u64(), body["leaf_index"].as_u64()), (Some(7), Some(6)));
    // No checkpoint existed: one was signed to cover the event.
    let checkpoint_root = hash(&body["checkpoint"]["root_hash"]);
    let leaf = leaf_hash_for_event_hash(&event.hash).expect("a chain hash");
    verify_inclusion(&leaf, 6, 10, &proof(&body["proof"]), &checkpoint_root).expect("the proof verifies");

    // In an older tree, with no checkpoint of that size.
    let (status, body) = api.get(&format!("/v1/audit/proofs/inclusion?event_id={}&tree_size=8", event.event_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checkpoint"], Value::Null);
    verify_inclusion(&leaf, 6, 8, &proof(&body["proof"]), &hash(&body["root_hash"])).expect("verifies in tree 8");
}

#[tokio::test]
async fn a_consistency_proof_links_two_checkpoints() {
    let api = api().await;
    api.call("POST", "/v1/audit/checkpoints", Some(Role::Admin)).await;
    append_events(api.test_log.store.as_ref(), 10, 7).await;
    let (status, newer) = api.call("POST", "/v1/audit/checkpoints", Some(Role::Admin)).await;
    assert_eq!((status, newer["tree_size"].as_u64()), (StatusCode::CREATED, Some(17)));
    let (status, body) = api.get("/v1/audit/proofs/consistency?from=10").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["to"].as_u64(), Some(17), "the latest checkpoint by default");
    let old_root = hash(&body["from_checkpoint"]["root_hash"]);
    let new_root = hash(&body["to_checkpoint"]["root_hash"]);
    verify_consistency(10, 17, &old_root, &new_root, &proof(&body["proof"])).expect("the proof verifies");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_naming_the_field() {
    let api = api().await;
    let cases = [
        ("/v1/audit/proofs/inclusion", StatusCode::UNPROCESSABLE_ENTITY, Some("event_id")),
        ("/v1/audit/proofs/inclusion?event_id=nope", StatusCode::UNPROCESSABLE_ENTITY, Some("event_id")),
        ("/v1/audit/proofs/inclusion?event_id=0190f5c4-0000-7000-8000-000000000000", StatusCode::NOT_FOUND, None),
        ("/v1/audit/proofs/consistency", StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        ("/v1/audit/proofs/consistency?from=-1", StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        ("/v1/audit/proofs/consistency?from=5&to=3", StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        ("/v1/audit/proofs/consistency?from=5&to=11", StatusCode::UNPROCESSABLE_ENTITY, Some("to")),
        ("/v1/audit/proofs/consistency?from=1&to=99999999999999999999", StatusCode::UNPROCESSABLE_ENTITY, Some("to")),
        ("/v1/audit/proofs/consistency?from=1&size=3", StatusCode::UNPROCESSABLE_ENTITY, Some("query")),
        ("/v1/audit/checkpoints/abc", StatusCode::UNPROCESSABLE_ENTITY, Some("tree_size")),
        ("/v1/audit/checkpoints/999", StatusCode::NOT_FOUND, None),
        ("/v1/audit/checkpoints?limit=0", StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
    ];
    for (uri, expected_status, field) in cases {
        let (status, body) = api.get(uri).await;
        assert_eq!(status, expected_status, "{uri}: {body}");
        assert_eq!(body["field"].as_str(), field, "{uri}: {body}");
        assert!(body["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{uri}: {body}");
    }
    let events = api.test_log.store.read_all(0, 100).await.expect("read");
    let uri = format!("/v1/audit/proofs/inclusion?event_id={}&tree_size=3", events[6].event_id);
    let (status, body) = api.get(&uri).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tree_size")), "{body}");
    let uri = format!("/v1/audit/proofs/inclusion?event_id={}&tree_size=11", events[6].event_id);
    let (status, body) = api.get(&uri).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tree_size")), "{body}");
}
