//! The worked example of `docs/event-hash-chain.md`, asserted here so that the document cannot drift from the
//! code, and the formats of the envelope's members.

use serde_json::json;
use time::macros::{date, datetime};
use uuid::uuid;

use super::*;
use crate::{Actor, StreamId};

/// The document that specifies the chain for third parties.
const SPEC: &str = include_str!("../../../../docs/event-hash-chain.md");

fn example_events() -> [RecordedEvent; 2] {
    let actor = Actor {
        id: "u-0042".to_owned(),
        name: "Nguyễn Văn An".to_owned(),
        unit: "SKHCN".to_owned(),
        role: "staff".to_owned(),
    };
    let first = RecordedEvent {
        global_position: 1,
        event_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e01"),
        stream_id: StreamId("plan-0190f5c4-0000-7000-8000-000000000001".to_owned()),
        stream_version: 1,
        event_type: "PlanCreated".to_owned(),
        schema_version: 1,
        effective_date: None,
        recorded_at: datetime!(2024-04-15 02:30:00.123456 UTC),
        actor: actor.clone(),
        command_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02"),
        correlation_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e03"),
        causation_id: None,
        payload: json!({"agency": "SKHCN", "year": 2024, "title": "Nhiệm vụ trọng tâm năm 2024"}),
        prev_hash: GENESIS_HASH.to_owned(),
        hash: String::new(),
    };
    let second = RecordedEvent {
        global_position: 2,
        event_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e04"),
        stream_id: StreamId("task-0190f5c4-0000-7000-8000-000000000002".to_owned()),
        stream_version: 1,
        event_type: "ProgressReported".to_owned(),
        schema_version: 2,
        effective_date: Some(date!(2024 - 04 - 15)),
        recorded_at: datetime!(2024-04-15 02:31:07.000001 UTC),
        actor,
        command_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e05"),
        correlation_id: uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e03"),
        causation_id: Some(uuid!("0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02")),
        payload: json!({
            "summary": "Đã hỗ trợ 25/25 doanh nghiệp",
            "measures": [{"label": "doanh nghiệp", "achieved": 25, "target": 25}],
            "progress": "in_progress",
            "evidence": [],
        }),
        prev_hash: String::new(),
        hash: String::new(),
    };
    [first, second]
}

const FIRST_CANONICAL: &str = r#"{"actor":{"id":"u-0042","name":"Nguyễn Văn An","role":"staff","unit":"SKHCN"},"causation_id":null,"command_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02","correlation_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e03","effective_date":null,"event_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e01","event_type":"PlanCreated","global_position":1,"payload":{"agency":"SKHCN","title":"Nhiệm vụ trọng tâm năm 2024","year":2024},"recorded_at":"2024-04-15T02:30:00.123456Z","schema_version":1,"stream_id":"plan-0190f5c4-0000-7000-8000-000000000001","stream_version":1}"#;
const FIRST_HASH: &str = "8e196d51da7d33e5886d115e63e59b85a46096394eabb5a09499d9b28f68af46";
const SECOND_CANONICAL: &str = r#"{"actor":{"id":"u-0042","name":"Nguyễn Văn An","role":"staff","unit":"SKHCN"},"causation_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02","command_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e05","correlation_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e03","effective_date":"2024-04-15","event_id":"0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e04","event_type":"ProgressReported","global_position":2,"payload":{"evidence":[],"measures":[{"achieved":25,"label":"doanh nghiệp","target":25}],"progress":"in_progress","summary":"Đã hỗ trợ 25/25 doanh nghiệp"},"recorded_at":"2024-04-15T02:31:07.000001Z","schema_version":2,"stream_id":"task-0190f5c4-0000-7000-8000-000000000002","stream_version":1}"#;
const SECOND_HASH: &str = "441d891dec1117afed02ebb5c2cb30cc96d25d5a985dab61743f432a34b5ed62";

#[test]
fn worked_example_matches_the_spec() {
    let [first, mut second] = example_events();

    let first_canonical = String::from_utf8(canonical_bytes(&first)).expect("canonical bytes are UTF-8");
    let first_hash = chain_hash(GENESIS_HASH, first_canonical.as_bytes());
    second.prev_hash = first_hash.clone();
    let second_canonical = String::from_utf8(canonical_bytes(&second)).expect("canonical bytes are UTF-8");
    let second_hash = chain_hash(&first_hash, second_canonical.as_bytes());

    assert_eq!(first_canonical, FIRST_CANONICAL);
    assert_eq!(first_hash, FIRST_HASH);
    assert_eq!(second_canonical, SECOND_CANONICAL);
    assert_eq!(second_hash, SECOND_HASH);
    for literal in [FIRST_CANONICAL, FIRST_HASH, SECOND_CANONICAL, SECOND_HASH] {
        assert!(SPEC.contains(literal), "docs/event-hash-chain.md must quote {literal}");
    }
}

#[test]
fn the_hash_covers_every_envelope_member() {
    let [event, _] = example_events();
    let original = canonical_bytes(&event);
    let mut changed = Vec::new();
    let mut variant = event.clone();
    variant.global_position = 2;
    changed.push(variant);
    let mut variant = event.clone();
    variant.stream_version = 2;
    changed.push(variant);
    let mut variant = event.clone();
    variant.actor.role = "director".to_owned();
    changed.push(variant);
    let mut variant = event.clone();
    variant.effective_date = Some(date!(2024 - 01 - 01));
    changed.push(variant);
    let mut variant = event.clone();
    variant.recorded_at = datetime!(2024-04-15 02:30:00.123457 UTC);
    changed.push(variant);
    let mut variant = event.clone();
    variant.payload["year"] = json!(2025);
    changed.push(variant);
    for variant in changed {
        assert_ne!(canonical_bytes(&variant), original, "{variant:?}");
    }

    let mut hashes_only = event.clone();
    hashes_only.prev_hash = "f".repeat(64);
    hashes_only.hash = "e".repeat(64);
    assert_eq!(canonical_bytes(&hashes_only), original, "prev_hash and hash are outside the envelope");
}

#[test]
fn recorded_at_is_utc_with_six_truncated_digits() {
    assert_eq!(format_recorded_at(datetime!(2024-04-15 09:30:00.123456789 +07:00)), "2024-04-15T02:30:00.123456Z");
    assert_eq!(format_recorded_at(datetime!(2024-04-15 02:30:00 UTC)), "2024-04-15T02:30:00.000000Z");
    assert_eq!(
        parse_recorded_at("2024-04-15T02:30:00.123456Z").expect("canonical recorded_at parses"),
        datetime!(2024-04-15 02:30:00.123456 UTC)
    );
    assert!(parse_recorded_at("2024-04-15T02:30:00.123Z").is_err());
    assert!(parse_recorded_at("2024-04-15T02:30:00.123456+07:00").is_err());
}

#[test]
fn effective_date_round_trips() {
    assert_eq!(format_effective_date(date!(2024 - 04 - 05)), "2024-04-05");
    assert_eq!(parse_effective_date("2024-04-05").expect("date parses"), date!(2024 - 04 - 05));
}

#[test]
fn hashes_are_64_lowercase_hex_digits() {
    assert!(is_hash(GENESIS_HASH));
    assert!(is_hash(&"a".repeat(64)));
    assert!(!is_hash(&"A".repeat(64)));
    assert!(!is_hash(&"a".repeat(63)));
    assert!(!is_hash(&"g".repeat(64)));
}

#[test]
fn payloads_are_stored_in_jcs_form() {
    let payload: serde_json::Value =
        serde_json::from_str(r#"{ "b": 1.50, "a": [true, null, "x\u0041"], "é": 1e3 }"#).expect("valid JSON");
    assert_eq!(canonical_json(&payload), r#"{"a":[true,null,"xA"],"b":1.5,"é":1000}"#);
}
