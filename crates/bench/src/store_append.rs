//! The store alone: concurrent callers of [`EventStore::append`] in this process, each appending report events
//! (the probe report's payload) to a stream of its own with the expected version and an idempotency key, as the
//! command service does, but without HTTP, tokens, JSON bodies or reading the stream first. Between the HTTP
//! figure and the raw limit, it tells which layer the time goes to.

use std::sync::Arc;

use event_store::{
    AppendRequest, EventStore, ExpectedVersion, Idempotency, NewEvent, RecordedEvent, StreamAppend, StreamId,
};
use uuid::Uuid;

use crate::machine;
use crate::measure::{Figures, Tally, Window};

pub(crate) async fn run(
    store: Arc<dyn EventStore>,
    template: &RecordedEvent,
    callers: usize,
    window_of: impl FnOnce() -> Window,
) -> anyhow::Result<Figures> {
    let window = window_of();
    let machine_busy = tokio::spawn(machine::busy_during(window));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let store = store.clone();
        let template = template.clone();
        tasks.spawn(async move {
            let stream_id = StreamId(format!("task-{}", Uuid::now_v7()));
            let mut version = 0_u64;
            let mut tally = Tally::new();
            while let Some(started) = window.next_start() {
                let request = request_like(&template, &stream_id, version);
                let result = store.append(request).await;
                if let Ok(outcome) = &result {
                    version = outcome.subject_version;
                }
                tally.finish(window, started, result.map(drop).map_err(|error| error.to_string()));
            }
            tally
        });
    }
    let mut tally = Tally::new();
    while let Some(joined) = tasks.join_next().await {
        tally.merge(&joined?);
    }
    Ok(Figures { machine_busy: machine_busy.await.ok().flatten(), ..tally.figures(callers, window) })
}

/// One report event on `stream_id`, expected at `version`, as the command service would append it.
fn request_like(template: &RecordedEvent, stream_id: &StreamId, version: u64) -> AppendRequest {
    let expected_version = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
    AppendRequest {
        command_id: Uuid::now_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: template.actor.clone(),
        idempotency: Some(Idempotency { key: Uuid::now_v7(), fingerprint: template.hash.clone() }),
        subject_id: Uuid::now_v7().to_string(),
        subject_stream: stream_id.clone(),
        streams: vec![StreamAppend {
            stream_id: stream_id.clone(),
            expected_version,
            events: vec![NewEvent {
                event_id: Uuid::now_v7(),
                event_type: template.event_type.clone(),
                schema_version: template.schema_version,
                effective_date: template.effective_date,
                payload: template.payload.clone(),
            }],
        }],
    }
}
