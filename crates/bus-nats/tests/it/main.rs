//! Integration tests of `bus-nats` against a real NATS server with JetStream: the shared one at
//! `nats://127.0.0.1:4222` (or `TASKLEDGER_TEST_NATS_URL`), and for the restart test a private server that the test
//! starts and kills itself.
//!
//! Every test works on its own stream with its own subjects (`TEST_<uuid>` on `t<uuid>.events.>`), so tests run in
//! parallel and never touch the real `TASKLEDGER_EVENTS` stream; the stream is deleted when the test ends, passed or
//! failed.
//!
//! Map: `fixtures` (events made through the domain), `publish` (round trip, duplicates, last position, the wire
//! contract, stream configuration), `poison` (messages that are not envelopes), `shared_consumer` (two subscribers,
//! one consumer), `python_consumer` (a Python consumer decoding with code generated from `proto/`), `relay` (a SQLite store, the relay, a relay restart), `restart` (a NATS restart).

mod fixtures;
mod poison;
mod publish;
mod python_consumer;
mod relay;
mod restart;
mod shared_consumer;

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bus::{EventBus, Subscription};
use bus_nats::{ConsumerSettings, NatsBus, NatsBusConfig};
use event_store::RecordedEvent;
use uuid::Uuid;

/// Where the shared test server is, unless `TASKLEDGER_TEST_NATS_URL` says otherwise.
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

const HOW_TO_START_NATS: &str = "start it with: start-stop-daemon --start --oknodo --background \
     --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log";

/// How long a test waits for deliveries before it fails.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(15);

/// The URL of the shared NATS server; fails the test, saying how to start it, when nothing listens there.
pub fn nats_url() -> String {
    init_tracing();
    let url = std::env::var("TASKLEDGER_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_owned());
    let address = url.trim_start_matches("nats://");
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok());
    assert!(reachable, "NATS with JetStream is not reachable at {url}: {HOW_TO_START_NATS}");
    url
}

/// Logs of the code under test, shown for failed tests; `RUST_LOG=bus_nats=debug` for more.
fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "bus_nats=info,bus=info".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// A configuration of its own for one test: a unique stream and subject prefix, and short timings so that
/// failures are noticed quickly.
pub fn unique_config() -> NatsBusConfig {
    init_tracing();
    let id = Uuid::new_v4().simple();
    NatsBusConfig {
        stream_name: format!("TEST_{id}"),
        subject_prefix: format!("t{id}.events"),
        request_timeout: Duration::from_secs(2),
        consumer: ConsumerSettings {
            pull_expires: Duration::from_secs(2),
            idle_heartbeat: Duration::from_millis(500),
            retry_delay: Duration::from_millis(100),
            ..ConsumerSettings::default()
        },
        ..NatsBusConfig::default()
    }
}

/// A test's stream on a NATS server: connects buses to it, and deletes it when dropped.
pub struct TestStream {
    pub url: String,
    pub config: NatsBusConfig,
}

impl TestStream {
    /// A fresh stream on the shared server.
    pub fn on_shared_server() -> TestStream {
        TestStream { url: nats_url(), config: unique_config() }
    }

    /// A new bus (a new connection) on this stream; the first one creates the stream.
    pub async fn connect(&self) -> NatsBus {
        NatsBus::connect(&self.url, self.config.clone()).await.expect("connect to NATS")
    }

    /// A plain JetStream client, to look at the stream as an operator would.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(self.url.as_str()).await.expect("connect to NATS");
        async_nats::jetstream::new(client)
    }

    pub async fn stream_info(&self) -> async_nats::jetstream::stream::Info {
        let jetstream = self.jetstream().await;
        let mut stream = jetstream.get_stream(&self.config.stream_name).await.expect("get stream");
        stream.info().await.expect("stream info").clone()
    }
}

impl Drop for TestStream {
    /// Deletes the stream, best effort, on a thread of its own so that it also runs when a test panics.
    fn drop(&mut self) {
        let url = self.url.clone();
        let stream_name = self.config.stream_name.clone();
        let deleting = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let connecting = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(1));
                if let Ok(client) = connecting.connect(url.as_str()).await {
                    let _ = async_nats::jetstream::new(client).delete_stream(&stream_name).await;
                }
            });
        });
        let _ = deleting.join();
    }
}

/// Takes deliveries, acknowledging each, until `n_deliveries` arrived; fails after [`DELIVERY_DEADLINE`].
pub async fn receive(subscription: &mut dyn Subscription, n_deliveries: usize) -> Vec<RecordedEvent> {
    let mut events = Vec::with_capacity(n_deliveries);
    let receiving = async {
        while events.len() < n_deliveries {
            let delivery = subscription.next().await.expect("delivery");
            events.push(delivery.event.clone());
            delivery.ack().await.expect("ack");
        }
    };
    let in_time = tokio::time::timeout(DELIVERY_DEADLINE, receiving).await;
    assert!(in_time.is_ok(), "only {} of {n_deliveries} deliveries arrived in time", events.len());
    events
}

/// Takes deliveries as a consumer that keeps the last position it applied would, until it has applied every
/// position up to `last_position`; returns what it applied, in order. A delivery at or below the last applied
/// position is a redelivery and is skipped (but acknowledged); a gap fails the test.
pub async fn receive_deduplicated(
    subscription: &mut dyn Subscription,
    applied: &mut BTreeMap<u64, RecordedEvent>,
    last_position: u64,
) {
    let receiving = async {
        let mut last_applied = applied.last_key_value().map_or(0, |(position, _)| *position);
        while last_applied < last_position {
            let delivery = subscription.next().await.expect("delivery");
            let position = delivery.event.global_position;
            if position > last_applied {
                assert_eq!(position, last_applied + 1, "a gap in the deliveries after position {last_applied}");
                applied.insert(position, delivery.event.clone());
                last_applied = position;
            }
            delivery.ack().await.expect("ack");
        }
    };
    let in_time = tokio::time::timeout(DELIVERY_DEADLINE, receiving).await;
    assert!(
        in_time.is_ok(),
        "only positions up to {:?} of {last_position} arrived in time",
        applied.last_key_value().map(|(p, _)| p)
    );
}

/// Whether anything more is delivered within `wait` (for "nothing more arrives" checks, which must wait a little).
pub async fn delivers_within(subscription: &mut dyn Subscription, wait: Duration) -> Option<RecordedEvent> {
    let delivery = tokio::time::timeout(wait, subscription.next()).await.ok()?.expect("delivery");
    let event = delivery.event.clone();
    delivery.ack().await.expect("ack");
    Some(event)
}

/// Positions of events, for readable assertions.
pub fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|event| event.global_position).collect()
}

/// Publishes as the relay does after a failure: from the bus's last position on, retrying until the bus holds
/// every event of `events` (positions 1, 2 …) or the deadline passes.
pub async fn publish_until_held(bus: &NatsBus, events: &[RecordedEvent], deadline: Duration) {
    let publishing = async {
        loop {
            let result = match bus.last_published_position().await {
                Ok(position) => bus.publish(&events[position as usize..]).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => return,
                Err(error) => {
                    eprintln!("publish failed, retrying as the relay would: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    };
    tokio::time::timeout(deadline, publishing).await.expect("the bus holds every event in time");
}
