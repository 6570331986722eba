//! Messages on the event subjects that are not event envelopes (garbage, an empty envelope) are terminated and
//! skipped; the good events around them are delivered, and the last published position ignores them.

use std::time::Duration;

use bus::EventBus;
use bytes::Bytes;

use crate::fixtures::recorded_events;
use crate::{delivers_within, receive, TestStream};

#[tokio::test]
async fn a_poisoned_message_is_terminated_and_the_next_events_still_arrive() {
    let stream = TestStream::on_shared_server();
    let bus = stream.connect().await;
    let jetstream = stream.jetstream().await;
    let subject = format!("{}.task.0190f5c4-7a2b-7c3d-8e4f-5a6b7c8d9e02", stream.config.subject_prefix);
    let publish_raw = |payload: &'static [u8]| {
        let jetstream = jetstream.clone();
        let subject = subject.clone();
        async move { jetstream.publish(subject, Bytes::from_static(payload)).await.unwrap().await.unwrap() }
    };
    let events = recorded_events(10);

    publish_raw(b"\xff\xfe not protobuf at all").await;
    publish_raw(b"").await; // decodes as an empty envelope, which has no event
    bus.publish(&events[..5]).await.unwrap();
    publish_raw(b"\x0a\x03abc garbage").await;
    bus.publish(&events[5..]).await.unwrap();
    publish_raw(b"trailing garbage").await;

    assert_eq!(bus.last_published_position().await.unwrap(), 10);
    let mut subscription = bus.subscribe("reader").await.unwrap();
    let received = receive(subscription.as_mut(), events.len()).await;
    assert_eq!(received, events);
    assert_eq!(delivers_within(subscription.as_mut(), Duration::from_millis(300)).await, None);

    // Terminated, not left pending: nothing is redelivered to a new subscriber of the same consumer either.
    let consumer_name = stream.config.consumer_name("reader");
    let mut nats_stream = jetstream.get_stream(&stream.config.stream_name).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let consumer_info = nats_stream
            .consumer_info(&consumer_name)
            .await
            .unwrap_or_else(|error| panic!("consumer {consumer_name}: {error}"));
        if consumer_info.num_ack_pending == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} deliveries still pending", consumer_info.num_ack_pending);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(nats_stream.info().await.unwrap().state.messages, 14);
    drop(subscription);
    let mut again = bus.subscribe("reader").await.unwrap();
    assert_eq!(delivers_within(again.as_mut(), Duration::from_millis(300)).await, None);
}
