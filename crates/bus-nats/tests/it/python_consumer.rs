//! The contract from another language: a Python consumer, with code generated from `proto/` alone (as
//! `proto/README.md` tells), reads the stream through a durable pull consumer and decodes every envelope. What it
//! reports (ids, positions, the `Nats-Msg-Id` header, the payload case and the payload's own fields) must be what
//! was published.
//!
//! Needs `python3` with `grpcio-tools`, `protobuf` and `nats-py` (`.ci/run` installs them); the test fails, saying
//! so, when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use bus::EventBus;
use event_store::RecordedEvent;

use crate::fixtures::{recorded, recorded_events, report_request_and_reminders};
use crate::TestStream;

const PYTHON_MODULES: &str = "grpcio-tools protobuf nats-py";

/// Decodes every message of the stream and prints one JSON line per event.
const CONSUMER: &str = r#"
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
import nats
from taskledger.v1 import envelope_pb2
from google.protobuf.json_format import MessageToDict

async def main(url, stream, filter_subject, expected):
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(filter_subject, durable="python-reader", stream=stream)
    seen = 0
    while seen < expected:
        for msg in await sub.fetch(expected - seen, timeout=10):
            envelope = envelope_pb2.EventEnvelope.FromString(msg.data)
            case = envelope.WhichOneof("payload")
            print(json.dumps({
                "event_id": envelope.event_id,
                "nats_msg_id": msg.headers.get("Nats-Msg-Id"),
                "global_position": envelope.global_position,
                "stream_id": envelope.stream_id,
                "event_type": envelope.event_type,
                "case": case,
                "payload": MessageToDict(getattr(envelope, case)) if case else None,
                "payload_json": json.loads(envelope.payload_json),
            }))
            await msg.ack()
            seen += 1
    await nc.close()

asyncio.run(main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
"#;

#[tokio::test]
async fn a_python_consumer_decodes_every_event_with_code_generated_from_proto() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let mut events = recorded_events(30);
    let last = events.last().unwrap().clone();
    events.extend(recorded(&report_request_and_reminders(), last.global_position + 1, &last.hash));
    bus.publish(&events).await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let generated = work.path().join("gen");
    std::fs::create_dir_all(&generated).unwrap();
    generate_python(&proto_dir(), &generated);
    let script = work.path().join("consumer.py");
    std::fs::write(&script, CONSUMER).unwrap();

    let output = python()
        .arg(&script)
        .arg(&generated)
        .arg(&stream.url)
        .arg(&stream.config.stream_name)
        .arg(stream.config.all_events_filter())
        .arg(events.len().to_string())
        .output()
        .expect("run python3");
    assert!(output.status.success(), "the Python consumer failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let decoded: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();

    assert_eq!(decoded.len(), events.len());
    let mut n_typed_fields = 0;
    for (event, seen) in events.iter().zip(&decoded) {
        n_typed_fields += assert_seen_as_published(event, seen);
    }
    assert!(n_typed_fields >= events.len() / 2, "only {n_typed_fields} typed fields compared");
}

/// Compares what the consumer saw with the event; answers how many fields of the typed payload were compared.
fn assert_seen_as_published(event: &RecordedEvent, seen: &serde_json::Value) -> usize {
    let position = event.global_position;
    assert_eq!(seen["event_id"], event.event_id.to_string(), "event id at {position}");
    assert_eq!(seen["nats_msg_id"], event.event_id.to_string(), "Nats-Msg-Id at {position}");
    assert_eq!(seen["global_position"], position, "position");
    assert_eq!(seen["stream_id"], event.stream_id.as_str(), "stream id at {position}");
    assert_eq!(seen["event_type"], event.event_type, "event type at {position}");
    assert_eq!(seen["case"], snake_case(&event.event_type), "payload case at {position}");
    assert_eq!(seen["payload_json"], event.payload, "payload_json at {position}");
    // The typed payload carries the domain's fields (protobuf's JSON names are lowerCamelCase).
    let typed = &seen["payload"];
    let mut n_compared = 0;
    for (stored, generated) in [
        ("/content/summary", "/content/summary"),
        ("/title", "/title"),
        ("/task_id", "/taskId"),
        ("/cut_off", "/cutOff"),
        ("/occurrence_key", "/occurrenceKey"),
        ("/due_at", "/dueAt"),
    ] {
        if let Some(value) = event.payload.pointer(stored) {
            assert_eq!(typed.pointer(generated), Some(value), "{stored} at {position}");
            n_compared += 1;
        }
    }
    if let Some(reason) = event.payload.pointer("/reason").and_then(|reason| reason.as_str()) {
        if event.event_type == "ReminderSkipped" {
            let enum_name = format!("SKIP_REASON_{}", reason.to_uppercase());
            assert_eq!(typed["reason"], enum_name.as_str(), "skip reason at {position}");
            n_compared += 1;
        }
    }
    n_compared
}

/// `ProgressReported` → `progress_reported`, the name of the envelope's `oneof` case.
fn snake_case(event_type: &str) -> String {
    let mut name = String::new();
    for character in event_type.chars() {
        if character.is_ascii_uppercase() && !name.is_empty() {
            name.push('_');
        }
        name.push(character.to_ascii_lowercase());
    }
    name
}

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

fn python() -> Command {
    Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned()))
}

/// `python -m grpc_tools.protoc -I proto --python_out=gen proto/taskledger/v1/*.proto`, as `proto/README.md` says.
fn generate_python(proto: &Path, generated: &Path) {
    let v1 = proto.join("taskledger/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&v1)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "proto"))
        .collect();
    files.sort();
    let output = python()
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(proto)
        .arg(format!("--python_out={}", generated.display()))
        .args(&files)
        .output()
        .unwrap_or_else(|error| panic!("python3 is needed for this test ({error}); then pip install {PYTHON_MODULES}"));
    assert!(
        output.status.success(),
        "generating Python from proto/ failed (pip install {PYTHON_MODULES}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
