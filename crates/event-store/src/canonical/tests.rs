//! The worked example of `docs/event-hash-chain.md`, asserted here so that the document cannot drift from the
//! code, and the formats of the envelope's members.

use proptest::prelude::*;
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

/// The envelope as first specified: a `serde_json::Value` canonicalised by `serde_json_canonicalizer`, the
/// reference that [`canonical_envelope`] must match byte for byte.
fn reference_canonical_bytes(event: &RecordedEvent) -> Vec<u8> {
    let envelope = json!({
        "global_position": event.global_position,
        "event_id": event.event_id.hyphenated().to_string(),
        "stream_id": event.stream_id.as_str(),
        "stream_version": event.stream_version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "effective_date": event.effective_date.map(format_effective_date),
        "recorded_at": format_recorded_at(event.recorded_at),
        "actor": {
            "id": event.actor.id,
            "name": event.actor.name,
            "unit": event.actor.unit,
            "role": event.actor.role,
        },
        "command_id": event.command_id.hyphenated().to_string(),
        "correlation_id": event.correlation_id.hyphenated().to_string(),
        "causation_id": event.causation_id.map(|id| id.hyphenated().to_string()),
        "payload": event.payload,
    });
    serde_json_canonicalizer::to_vec(&envelope).expect("a Value has a canonical form")
}

/// Any text, with a bias towards what needs care: controls, quotes, backslashes, Vietnamese, characters beyond
/// the Basic Multilingual Plane and just below it (where UTF-16 and UTF-8 orders differ).
fn any_text() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('/'),
        Just('\u{7f}'),
        Just('\u{2028}'),
        Just('ệ'),
        Just('\u{e000}'),
        Just('\u{ffff}'),
        Just('😀'),
        Just('\u{10ffff}'),
        (0_u32..0x20).prop_map(|code| char::from_u32(code).expect("a control is a char")),
    ];
    prop::collection::vec(prop_oneof![3 => any::<char>(), 2 => tricky, 3 => prop::char::range('a', 'e')], 0..8)
        .prop_map(|chars| chars.into_iter().collect())
}

fn any_number() -> impl Strategy<Value = serde_json::Number> {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Number::from),
        any::<u64>().prop_map(serde_json::Number::from),
        (-(1_i64 << 54)..(1_i64 << 54)).prop_map(serde_json::Number::from),
        (0_u64..1000).prop_map(serde_json::Number::from),
        any::<f64>().prop_filter_map("finite", serde_json::Number::from_f64),
        (-1e6_f64..1e6).prop_filter_map("finite", serde_json::Number::from_f64),
        prop::sample::select(vec![0.0, -0.0, 1e21, 1e-7, 5e-324, 1.5, 9007199254740993.0])
            .prop_filter_map("finite", serde_json::Number::from_f64),
    ]
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any_number().prop_map(serde_json::Value::Number),
        any_text().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((any_text(), inner), 0..6)
                .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
        ]
    })
}

prop_compose! {
    fn any_event()(
        payload in any_json(),
        texts in prop::array::uniform6(any_text()),
        numbers in (any::<u64>(), any::<u64>(), any::<u32>(), 0_u64..1_000_000),
        ids in prop::array::uniform4(any::<u128>()),
        causation in any::<bool>(),
        day in 0_i32..100_000,
        micros in 0_i64..4_000_000_000_000_000,
    ) -> RecordedEvent {
        let [actor_id, actor_name, actor_unit, actor_role, stream_id, event_type] = texts;
        let (global_position, stream_version, schema_version, small_position) = numbers;
        let [event_id, command_id, correlation_id, causation_id] = ids.map(uuid::Uuid::from_u128);
        let effective_date = (day % 3 != 0).then(|| date!(2000 - 01 - 01) + time::Duration::days(i64::from(day)));
        RecordedEvent {
            global_position: if causation { small_position } else { global_position },
            event_id,
            stream_id: StreamId(stream_id),
            stream_version,
            event_type,
            schema_version,
            effective_date,
            recorded_at: OffsetDateTime::UNIX_EPOCH + time::Duration::microseconds(micros),
            actor: Actor { id: actor_id, name: actor_name, unit: actor_unit, role: actor_role },
            command_id,
            correlation_id,
            causation_id: causation.then_some(causation_id),
            payload,
            prev_hash: GENESIS_HASH.to_owned(),
            hash: String::new(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_json_writes_what_the_reference_canonicaliser_writes(value in any_json()) {
        let expected = serde_json_canonicalizer::to_string(&value).expect("a Value has a canonical form");
        prop_assert_eq!(canonical_json(&value), expected);
    }

    #[test]
    fn canonical_envelope_writes_what_the_reference_canonicaliser_writes(event in any_event()) {
        let expected = reference_canonical_bytes(&event);
        prop_assert_eq!(canonical_bytes(&event), expected.clone());
        let canonical_payload = canonical_json(&event.payload);
        prop_assert_eq!(canonical_envelope(&event, &canonical_payload).into_bytes(), expected);
    }
}

/// Any instant `time` can hold, at any offset, to the nanosecond.
fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    let min = time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp_nanos();
    let max = time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp_nanos();
    (min..=max, -86_399_i32..=86_399).prop_map(|(nanos, offset_seconds)| {
        let utc = OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("within time's range");
        let offset = UtcOffset::from_whole_seconds(offset_seconds).expect("within a day");
        // An instant near the ends of the range may not be representable at every offset; keep it in UTC then.
        utc.checked_to_offset(offset).unwrap_or(utc)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn recorded_at_digits_are_what_the_format_description_writes(instant in any_instant()) {
        let expected = truncate_to_micros(instant.to_offset(UtcOffset::UTC))
            .format(RECORDED_AT_FORMAT)
            .expect("formattable");
        prop_assert_eq!(format_recorded_at(instant), expected);
    }

    #[test]
    fn effective_date_digits_are_what_the_format_description_writes(instant in any_instant()) {
        let date = instant.date();
        prop_assert_eq!(format_effective_date(date), date.format(EFFECTIVE_DATE_FORMAT).expect("formattable"));
    }

    #[test]
    fn recorded_at_of_common_years_round_trips(micros in 0_i64..253_402_300_800_000_000) {
        let instant = OffsetDateTime::UNIX_EPOCH + time::Duration::microseconds(micros);
        prop_assert_eq!(parse_recorded_at(&format_recorded_at(instant)).expect("parses"), instant);
    }
}
