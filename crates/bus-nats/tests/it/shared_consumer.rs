//! Two subscribers with the same consumer name (two replicas of a service) share its deliveries: together they
//! see every event once.

use std::collections::BTreeSet;
use std::time::Duration;

use bus::EventBus;
use bus_nats::{ConsumerSettings, NatsBusConfig};
use tokio::sync::mpsc;

use crate::fixtures::recorded_events;
use crate::TestStream;

#[tokio::test]
async fn two_subscribers_of_one_consumer_share_its_deliveries() {
    let mut stream = TestStream::on_shared_server();
    // Small pulls, so that neither subscriber takes everything in one batch.
    stream.config = NatsBusConfig {
        consumer: ConsumerSettings { batch_size: 4, ..stream.config.consumer.clone() },
        ..stream.config.clone()
    };
    let bus = stream.connect().await;
    let events = recorded_events(200);
    let (deliveries, mut received) = mpsc::unbounded_channel::<(usize, u64)>();
    let mut subscribers = Vec::new();
    for subscriber in 0..2 {
        let mut subscription = stream.connect().await.subscribe("projections").await.unwrap();
        let deliveries = deliveries.clone();
        subscribers.push(tokio::spawn(async move {
            loop {
                let delivery = subscription.next().await.expect("delivery");
                let position = delivery.event.global_position;
                delivery.ack().await.expect("ack");
                if deliveries.send((subscriber, position)).is_err() {
                    return;
                }
            }
        }));
    }

    bus.publish(&events).await.unwrap();
    let mut per_subscriber = [0_usize; 2];
    let mut seen = BTreeSet::new();
    let mut n_deliveries = 0;
    let receiving = async {
        while seen.len() < events.len() {
            let (subscriber, position) = received.recv().await.unwrap();
            per_subscriber[subscriber] += 1;
            seen.insert(position);
            n_deliveries += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), receiving).await.expect("every event delivered in time");
    for subscriber in subscribers {
        subscriber.abort();
    }

    assert_eq!(seen, (1..=200).collect::<BTreeSet<u64>>());
    assert_eq!(n_deliveries, 200, "each event delivered once");
    assert!(per_subscriber.iter().all(|n| *n > 0), "both subscribers got deliveries: {per_subscriber:?}");
}
