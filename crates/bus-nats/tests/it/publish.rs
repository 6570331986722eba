//! Publishing and reading back: every event arrives equal and in order, duplicates are stored and delivered once,
//! the last published position, the wire contract of `proto/README.md`, and the stream's configuration.

use std::time::Duration;

use async_nats::jetstream::stream::StorageType;
use bus::{BusError, EventBus};
use bus_nats::{NatsBus, NatsBusConfig, MESSAGE_ID_HEADER, POSITION_HEADER};
use event_store::StreamId;
use prost::Message as _;

use crate::fixtures::recorded_events;
use crate::{delivers_within, nats_url, positions, receive, TestStream};

#[tokio::test]
async fn every_published_event_arrives_decoded_equal_and_in_order() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let events = recorded_events(25);

    bus.publish(&events).await.unwrap();
    let mut subscription = bus.subscribe("reader").await.unwrap();
    let received = receive(subscription.as_mut(), events.len()).await;

    assert_eq!(received, events);
}

#[tokio::test]
async fn events_published_again_are_stored_and_delivered_once() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let events = recorded_events(20);

    bus.publish(&events[..15]).await.unwrap();
    // A relay that crashed before it saw the acknowledgements republishes everything, then goes on.
    bus.publish(&events).await.unwrap();
    bus.publish(&events[5..]).await.unwrap();

    assert_eq!(stream.stream_info().await.state.messages, 20);
    let mut subscription = bus.subscribe("reader").await.unwrap();
    let received = receive(subscription.as_mut(), events.len()).await;
    assert_eq!(received, events);
    assert_eq!(delivers_within(subscription.as_mut(), Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn last_published_position_is_zero_on_an_empty_stream_then_the_last_position() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let events = recorded_events(15);

    assert_eq!(bus.last_published_position().await.unwrap(), 0);
    bus.publish(&events[..10]).await.unwrap();
    assert_eq!(bus.last_published_position().await.unwrap(), 10);
    bus.publish(&events[10..]).await.unwrap();
    assert_eq!(bus.last_published_position().await.unwrap(), 15);
    // A new connection (a restarted relay) reads the same.
    assert_eq!(stream.connect().await.last_published_position().await.unwrap(), 15);
}

#[tokio::test]
async fn messages_follow_the_published_contract() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let events = recorded_events(4);
    bus.publish(&events).await.unwrap();

    let jetstream = stream.jetstream().await;
    let nats_stream = jetstream.get_stream(&stream.config.stream_name).await.unwrap();
    for (sequence, event) in (1..).zip(&events) {
        let message = nats_stream.get_raw_message(sequence).await.unwrap();
        let (aggregate, id) = event.stream_id.as_str().split_once('-').unwrap();
        assert_eq!(message.subject.as_str(), format!("{}.{aggregate}.{id}", stream.config.subject_prefix));
        assert_eq!(message.headers.get(MESSAGE_ID_HEADER).unwrap().as_str(), event.event_id.to_string());
        assert_eq!(message.headers.get(POSITION_HEADER).unwrap().as_str(), event.global_position.to_string());
        let envelope = proto::pb::EventEnvelope::decode(message.payload.as_ref()).unwrap();
        assert_eq!(envelope, proto::envelope_from_recorded(event).unwrap());
    }
}

#[test]
fn the_default_subject_is_the_contract_subject() {
    let config = NatsBusConfig::default();
    let stream_id = StreamId("task-0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02".to_owned());

    assert_eq!(config.subject_for_stream(&stream_id), proto::subject::subject_for_stream(&stream_id));
    assert_eq!(config.all_events_filter(), proto::subject::ALL_EVENTS_FILTER);
    assert_eq!(config.subject_for_stream(&StreamId("notes-1".to_owned())), None);
}

#[tokio::test]
async fn an_event_without_an_envelope_publishes_nothing_and_says_which() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let mut events = recorded_events(3);
    events[1].stream_id = StreamId("notes-1".to_owned());

    let error = bus.publish(&events).await.unwrap_err();

    assert!(matches!(&error, BusError::Decode(message) if message.contains("position 2")), "{error}");
    assert_eq!(stream.stream_info().await.state.messages, 0);
}

#[tokio::test]
async fn connect_creates_the_stream_as_configured_and_updates_what_differs() {
    let stream = TestStream::on_shared_server();
    stream.connect().await;

    let info = stream.stream_info().await;
    assert_eq!(info.config.subjects, vec![format!("{}.>", stream.config.subject_prefix)]);
    assert_eq!(info.config.storage, StorageType::File);
    assert_eq!(info.config.duplicate_window, Duration::from_secs(120));
    assert_eq!(info.config.max_age, Duration::ZERO);
    assert_eq!(info.config.num_replicas, 1);

    let shorter_window = NatsBusConfig { duplicate_window: Duration::from_secs(30), ..stream.config.clone() };
    NatsBus::connect(&stream.url, shorter_window).await.unwrap();
    assert_eq!(stream.stream_info().await.config.duplicate_window, Duration::from_secs(30));
}

#[tokio::test]
async fn an_invalid_configuration_is_refused_naming_the_field() {
    let config = NatsBusConfig { stream_name: "taskledger.events".to_owned(), ..NatsBusConfig::default() };

    let error = NatsBus::connect(&nats_url(), config).await.expect_err("refused");

    assert!(error.to_string().contains("stream_name"), "{error}");
}

#[tokio::test]
async fn ping_answers_and_positions_are_in_order_across_batches() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    bus.ping().await.unwrap();

    // More events than may be in flight at once, so that publish waits for acknowledgements as it goes.
    let config = NatsBusConfig { max_publishes_in_flight: 8, ..stream.config.clone() };
    let bus = NatsBus::connect(&stream.url, config).await.unwrap();
    let events = recorded_events(50);
    bus.publish(&events).await.unwrap();

    let mut subscription = bus.subscribe("reader").await.unwrap();
    let received = receive(subscription.as_mut(), events.len()).await;
    assert_eq!(positions(&received), (1..=50).collect::<Vec<_>>());
}
