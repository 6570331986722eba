//! Stored events through their envelopes: lossless both ways, the hash chain verifiable from the envelope alone,
//! and the typed payload checked against the stored JSON.

use event_store::canonical::{canonical_json, chain_hash};
use event_store::verify::verify_events;
use event_store::{RecordedEvent, StreamId};
use prost::Message;
use proto::convert::domain_event_to_proto;
use proto::pb::event_envelope::Payload;
use proto::{envelope_from_recorded, pb, recorded_from_envelope, ConvertError, DomainEvent};
use serde_json::json;
use time::OffsetDateTime;

use crate::fixtures::{all_domain_events, recorded_chain, task_events_full, OTHER_DATE};

/// A change that breaks one field of an envelope.
type Breakage = Box<dyn Fn(&mut pb::EventEnvelope)>;

/// Where the full ProgressReported sits in `all_domain_events`: after the four plan events and TaskAssigned.
/// Where the first `ProgressReported` (with every optional field filled) is among the fixture events.
fn progress_reported_index() -> usize {
    all_domain_events().iter().position(|event| event.event_type() == "ProgressReported").expect("a fixture")
}

pub fn through_bytes(envelope: &pb::EventEnvelope) -> pb::EventEnvelope {
    pb::EventEnvelope::decode(envelope.encode_to_vec().as_slice()).unwrap()
}

/// The stored ProgressReported with every optional field filled, and its envelope.
fn one_envelope() -> (RecordedEvent, pb::EventEnvelope) {
    let recorded = recorded_chain(&all_domain_events()).remove(progress_reported_index());
    let envelope = envelope_from_recorded(&recorded).unwrap();
    (recorded, envelope)
}

#[test]
fn every_stored_event_round_trips_through_its_envelope_and_the_chain_still_verifies() {
    let chain = recorded_chain(&all_domain_events());
    let mut recovered = Vec::new();
    for recorded in &chain {
        let envelope = through_bytes(&envelope_from_recorded(recorded).unwrap());
        let back = recorded_from_envelope(&envelope).unwrap();
        assert_eq!(&back, recorded, "{}", recorded.event_type);
        assert_eq!(back.recorded_at.nanosecond(), recorded.recorded_at.nanosecond());
        recovered.push(back);
    }
    let report = verify_events(recovered).unwrap();
    assert_eq!(report.n_events, chain.len() as u64);
    assert_eq!(report.head.hash, chain.last().unwrap().hash);
}

#[test]
fn the_envelope_carries_every_provenance_field_and_the_typed_payload() {
    let events = all_domain_events();
    let recorded = recorded_chain(&events);
    let envelope = envelope_from_recorded(&recorded[0]).unwrap();
    assert_eq!(
        envelope,
        pb::EventEnvelope {
            global_position: 1,
            event_id: recorded[0].event_id.to_string(),
            stream_id: format!("plan-{}", crate::fixtures::PLAN_ID.0),
            stream_version: 1,
            event_type: "PlanCreated".to_owned(),
            schema_version: 1,
            effective_date: Some("2024-04-15".to_owned()),
            recorded_at: Some(prost_types::Timestamp {
                seconds: recorded[0].recorded_at.unix_timestamp(),
                nanos: 123_456_000
            }),
            actor: Some(pb::Actor {
                id: "user-7".to_owned(),
                name: "Nguyễn Thị Hoà".to_owned(),
                unit: "KHCN".to_owned(),
                role: "reporter".to_owned(),
            }),
            command_id: recorded[0].command_id.to_string(),
            correlation_id: recorded[0].correlation_id.to_string(),
            causation_id: recorded[0].causation_id.map(|id| id.to_string()),
            payload_json: canonical_json(&recorded[0].payload),
            prev_hash: "0".repeat(64),
            hash: recorded[0].hash.clone(),
            payload: Some(domain_event_to_proto(&events[0])),
        }
    );
    let sparse = envelope_from_recorded(&recorded[1]).unwrap();
    assert_eq!((sparse.effective_date, sparse.causation_id), (None, None));
}

#[test]
fn payload_json_is_the_stored_canonical_text() {
    let (recorded, envelope) = one_envelope();
    assert_eq!(envelope.payload_json, canonical_json(&recorded.payload));
    assert_eq!(serde_json::to_string(&recorded.payload).unwrap(), envelope.payload_json, "sorted keys, no spaces");
    assert!(envelope.payload_json.contains("Đã hỗ trợ 25 doanh nghiệp"), "not escaped: {}", envelope.payload_json);
}

/// What proto/README.md tells a consumer in another language to do, done with nothing but the envelope.
#[test]
fn a_consumer_recomputes_the_hash_from_the_envelope_alone() {
    for recorded in recorded_chain(&all_domain_events()) {
        let envelope = through_bytes(&envelope_from_recorded(&recorded).unwrap());
        let timestamp = envelope.recorded_at.unwrap();
        let seconds = OffsetDateTime::from_unix_timestamp(timestamp.seconds).unwrap();
        let recorded_at = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            seconds.year(),
            u8::from(seconds.month()),
            seconds.day(),
            seconds.hour(),
            seconds.minute(),
            seconds.second(),
            timestamp.nanos / 1000
        );
        let actor = envelope.actor.unwrap();
        let canonical_envelope = json!({
            "global_position": envelope.global_position,
            "event_id": envelope.event_id,
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "event_type": envelope.event_type,
            "schema_version": envelope.schema_version,
            "effective_date": envelope.effective_date,
            "recorded_at": recorded_at,
            "actor": {"id": actor.id, "name": actor.name, "unit": actor.unit, "role": actor.role},
            "command_id": envelope.command_id,
            "correlation_id": envelope.correlation_id,
            "causation_id": envelope.causation_id,
            "payload": serde_json::from_str::<serde_json::Value>(&envelope.payload_json).unwrap(),
        });
        let hash = chain_hash(&envelope.prev_hash, canonical_json(&canonical_envelope).as_bytes());
        assert_eq!(hash, envelope.hash, "{}", envelope.event_type);
    }
}

#[test]
fn recorded_at_keeps_nanoseconds_and_any_offset_reads_back_as_the_same_instant() {
    let (mut recorded, _) = one_envelope();
    recorded.recorded_at = time::macros::datetime!(2024-04-16 15:30:15.123456789 +07:00);
    let back = recorded_from_envelope(&through_bytes(&envelope_from_recorded(&recorded).unwrap())).unwrap();
    assert_eq!(back.recorded_at, recorded.recorded_at);
    assert_eq!(back.recorded_at.offset(), time::UtcOffset::UTC);
    assert_eq!(back.recorded_at.nanosecond(), 123_456_789);
}

#[test]
fn an_envelope_without_a_required_field_names_it() {
    let (_, envelope) = one_envelope();
    let cases: Vec<(&str, Breakage)> = vec![
        ("event_id", Box::new(|envelope| envelope.event_id.clear())),
        ("stream_id", Box::new(|envelope| envelope.stream_id.clear())),
        ("event_type", Box::new(|envelope| envelope.event_type.clear())),
        ("recorded_at", Box::new(|envelope| envelope.recorded_at = None)),
        ("actor", Box::new(|envelope| envelope.actor = None)),
        ("command_id", Box::new(|envelope| envelope.command_id.clear())),
        ("correlation_id", Box::new(|envelope| envelope.correlation_id.clear())),
        ("payload_json", Box::new(|envelope| envelope.payload_json.clear())),
        ("prev_hash", Box::new(|envelope| envelope.prev_hash.clear())),
        ("hash", Box::new(|envelope| envelope.hash.clear())),
        ("payload", Box::new(|envelope| envelope.payload = None)),
    ];
    for (field, break_it) in cases {
        let mut broken = envelope.clone();
        break_it(&mut broken);
        assert_eq!(recorded_from_envelope(&broken), Err(ConvertError::Missing { field: field.to_owned() }), "{field}");
    }
}

#[test]
fn an_envelope_with_an_invalid_field_names_it() {
    let (_, envelope) = one_envelope();
    let cases: Vec<(&str, Breakage)> = vec![
        ("global_position", Box::new(|envelope| envelope.global_position = 0)),
        ("stream_version", Box::new(|envelope| envelope.stream_version = 0)),
        ("event_id", Box::new(|envelope| envelope.event_id = "not-a-uuid".to_owned())),
        ("causation_id", Box::new(|envelope| envelope.causation_id = Some("42".to_owned()))),
        ("effective_date", Box::new(|envelope| envelope.effective_date = Some("15/04/2024".to_owned()))),
        ("recorded_at.nanos", Box::new(|envelope| envelope.recorded_at.as_mut().unwrap().nanos = -1)),
        ("recorded_at.seconds", Box::new(|envelope| envelope.recorded_at.as_mut().unwrap().seconds = i64::MAX)),
        ("payload_json", Box::new(|envelope| envelope.payload_json = "{not json".to_owned())),
        ("event_type", Box::new(|envelope| envelope.event_type = "TaskAssigned".to_owned())),
        ("stream_id", Box::new(|envelope| envelope.stream_id = format!("plan-{}", crate::fixtures::PLAN_ID.0))),
    ];
    for (field, break_it) in cases {
        let mut broken = envelope.clone();
        break_it(&mut broken);
        let error = recorded_from_envelope(&broken).unwrap_err();
        assert!(matches!(&error, ConvertError::Invalid { field: named, .. } if named == field), "{field}: {error}");
    }
}

#[test]
fn a_typed_payload_that_disagrees_with_the_stored_json_is_refused() {
    let (_, mut envelope) = one_envelope();
    let Some(Payload::ProgressReported(reported)) = envelope.payload.as_mut() else {
        panic!("expected ProgressReported, got {:?}", envelope.payload);
    };
    reported.content.as_mut().unwrap().as_of = OTHER_DATE.to_string();
    assert_eq!(
        recorded_from_envelope(&envelope),
        Err(ConvertError::Invalid {
            field: "payload_json".to_owned(),
            reason: "does not match the typed payload".to_owned()
        })
    );
}

#[test]
fn an_invalid_typed_payload_names_the_nested_field() {
    let (_, mut envelope) = one_envelope();
    let Some(Payload::ProgressReported(reported)) = envelope.payload.as_mut() else {
        panic!("expected ProgressReported");
    };
    let content = reported.content.as_mut().unwrap();
    content.measures[1].achieved = -1.0;
    assert_eq!(
        recorded_from_envelope(&envelope).unwrap_err().field(),
        "progress_reported.content.measures[1].achieved"
    );
}

#[test]
fn an_event_type_this_build_does_not_know_converts_from_its_json_alone() {
    let (_, mut envelope) = one_envelope();
    envelope.event_type = "TaskEscalated".to_owned();
    envelope.payload_json = r#"{"level":2}"#.to_owned();
    envelope.payload = None;
    let recorded = recorded_from_envelope(&through_bytes(&envelope)).unwrap();
    assert_eq!(recorded.event_type, "TaskEscalated");
    assert_eq!(recorded.payload, json!({"level": 2}));
}

#[test]
fn a_stored_event_of_a_stream_without_a_subject_has_no_envelope() {
    let mut recorded = recorded_chain(&all_domain_events()).remove(0);
    recorded.stream_id = StreamId("contract-test-stream".to_owned());
    assert_eq!(envelope_from_recorded(&recorded).unwrap_err().field(), "stream_id");
}

#[test]
fn a_stored_payload_the_domain_does_not_read_has_no_envelope() {
    let mut recorded = recorded_chain(&all_domain_events()).remove(progress_reported_index());
    recorded.payload["summary"] = json!("");
    let error = envelope_from_recorded(&recorded).unwrap_err();
    assert_eq!(error.field(), "payload_json", "{error}");
    assert!(error.to_string().contains("text is empty"), "{error}");
}

#[test]
fn the_envelope_of_every_fixture_event_names_its_payload_case() {
    for (recorded, event) in recorded_chain(&all_domain_events()).iter().zip(all_domain_events()) {
        let envelope = envelope_from_recorded(recorded).unwrap();
        assert_eq!(envelope.payload, Some(domain_event_to_proto(&event)));
        assert!(matches!(event, DomainEvent::Plan(_)) == envelope.stream_id.starts_with("plan-"));
    }
    assert!(!task_events_full().is_empty());
}
