//! An event the occurrence derivation cannot apply is parked, by position, like the read models' parked events, and
//! `/readyz`'s notification detail names it; the events after it are still derived.

use event_store::{AppendRequest, ExpectedVersion, NewEvent, StreamAppend, StreamId};
use uuid::Uuid;

use crate::support::{at, date, Receivers};
use crate::world::{Backend, World};

#[tokio::test]
async fn an_event_the_derivation_cannot_apply_is_parked_and_shown_in_the_readiness_detail() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-01"), 7, 1)).await;
    assert_eq!(world.service().readiness().await.unwrap(), "ok; 0 delivery(ies) due");

    let stream_id = StreamId(domain::ids::TaskId(tasks[0]).stream_name());
    let poison = world
        .events
        .append(AppendRequest {
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: event_store::Actor {
                id: "khcn.tranthibich".to_owned(),
                name: "Trần Thị Bích".to_owned(),
                unit: "SO-KHCN".to_owned(),
                role: "reporter".to_owned(),
            },
            idempotency: None,
            subject_id: tasks[0].to_string(),
            subject_stream: stream_id.clone(),
            streams: vec![StreamAppend {
                stream_id,
                expected_version: ExpectedVersion::Any,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "ProgressReported".to_owned(),
                    schema_version: domain::task::SCHEMA_VERSION,
                    effective_date: None,
                    payload: serde_json::json!({"nonsense": 1}),
                }],
            }],
        })
        .await
        .unwrap();
    let (_, more_tasks) = world.plan_with_tasks(&["2024-07-31"]).await;
    world.step_to(at(date("2024-06-01"), 7, 2)).await;

    let detail = world.service().readiness().await.unwrap();
    assert_eq!(
        detail,
        format!(
            "ok; 0 delivery(ies) due; 1 parked event(s) at position(s) {}, see rm_parked (model notifications)",
            poison.last_position
        )
    );
    let occurrences = world.service().store.occurrences().await.unwrap();
    assert!(
        occurrences.iter().any(|(key, _)| key.contains(&more_tasks[0].to_string())),
        "the task assigned after the parked event has its reminders"
    );
    world.teardown().await;
}
