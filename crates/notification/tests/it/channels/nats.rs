//! The NATS channel against the real NATS server with JetStream: a published delivery read back by a JetStream
//! consumer, a delivery published again dropped by the duplicate window, and the stream created and updated on
//! construction. Each test has a stream and subjects of its own and deletes its stream at the end.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use futures_util::StreamExt;
use notification::channel::{Channel, ChannelKind};
use notification::channels::nats::{notification_subject, NatsChannel, NatsChannelConfig, OCCURRENCE_HEADER};
use notification::channels::payload::ReminderEvent;
use uuid::Uuid;

use crate::fixtures::{delivery, next_attempt};

/// Where the shared test server is, unless `TASKLEDGER_TEST_NATS_URL` says otherwise.
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

const HOW_TO_START_NATS: &str = "start it with: start-stop-daemon --start --oknodo --background \
     --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log";

/// A connected client; fails the test, saying how to start NATS, when nothing listens there.
pub async fn nats_client() -> async_nats::Client {
    let url = std::env::var("TASKLEDGER_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_owned());
    let address = url.trim_start_matches("nats://");
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok());
    assert!(reachable, "NATS with JetStream is not reachable at {url}: {HOW_TO_START_NATS}");
    async_nats::connect(url.as_str()).await.expect("connect to NATS")
}

/// A stream and subject prefix for one test alone.
fn config_of_one_test() -> NatsChannelConfig {
    let unique = Uuid::now_v7().simple().to_string();
    NatsChannelConfig {
        stream_name: format!("TEST_NOTIFICATIONS_{unique}"),
        subject_prefix: format!("test.{unique}.notifications"),
        ..NatsChannelConfig::default()
    }
}

async fn delete_stream(client: &async_nats::Client, stream_name: &str) {
    let jetstream = async_nats::jetstream::new(client.clone());
    jetstream.delete_stream(stream_name).await.expect("delete the test stream");
}

/// Every message of the stream on `subject`, read by a fresh consumer.
async fn read_subject(
    client: &async_nats::Client,
    stream_name: &str,
    subject: &str,
) -> Vec<async_nats::jetstream::Message> {
    let jetstream = async_nats::jetstream::new(client.clone());
    let stream = jetstream.get_stream(stream_name).await.expect("the stream exists");
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: subject.to_owned(),
            ack_policy: AckPolicy::Explicit,
            ..pull::Config::default()
        })
        .await
        .expect("create a consumer");
    let mut batch = consumer
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch from the consumer");
    let mut messages = Vec::new();
    while let Some(message) = batch.next().await {
        let message = message.expect("a message");
        message.ack().await.expect("ack");
        messages.push(message);
    }
    messages
}

#[tokio::test]
async fn a_published_delivery_is_read_by_a_consumer_of_the_recipients_subject() {
    let client = nats_client().await;
    let config = config_of_one_test();
    let channel = NatsChannel::connect(client.clone(), config.clone()).await.expect("the stream is created");
    let delivery = delivery(ChannelKind::Nats, "u-nguyen-van-an");

    let receipt = channel.deliver(&delivery).await.expect("JetStream acknowledges");
    assert_eq!(receipt.detail, format!("stream {} sequence 1", config.stream_name));

    let subject = format!("{}.u-nguyen-van-an", config.subject_prefix);
    let messages = read_subject(&client, &config.stream_name, &subject).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    let headers = message.headers.as_ref().expect("headers");
    assert_eq!(headers.get("Nats-Msg-Id").map(|value| value.as_str()), Some(delivery.delivery_id.as_str()));
    assert_eq!(
        headers.get(OCCURRENCE_HEADER).map(|value| value.as_str()),
        Some(delivery.reminder.occurrence_key.as_str())
    );
    let event: ReminderEvent = serde_json::from_slice(&message.payload).expect("the published JSON");
    assert_eq!(event, ReminderEvent::from_delivery(&delivery));

    delete_stream(&client, &config.stream_name).await;
}

#[tokio::test]
async fn a_delivery_published_again_is_dropped_by_the_duplicate_window() {
    let client = nats_client().await;
    let config = config_of_one_test();
    let channel = NatsChannel::connect(client.clone(), config.clone()).await.expect("the stream is created");
    let delivery = delivery(ChannelKind::Nats, "u-nguyen-van-an");

    let first = channel.deliver(&delivery).await.expect("the first attempt is acknowledged");
    let again = channel.deliver(&next_attempt(&delivery)).await.expect("the second attempt is acknowledged");
    let mut another_recipients = crate::fixtures::delivery(ChannelKind::Nats, "u-tran-thi-binh");
    another_recipients.recipient.id = "u-tran-thi-binh".to_owned();
    let other = channel.deliver(&another_recipients).await.expect("another delivery is acknowledged");

    assert_eq!(first.detail, format!("stream {} sequence 1", config.stream_name));
    assert_eq!(again.detail, format!("stream {} sequence 1 (duplicate, already published)", config.stream_name));
    assert_eq!(other.detail, format!("stream {} sequence 2", config.stream_name));
    let subject = format!("{}.u-nguyen-van-an", config.subject_prefix);
    assert_eq!(read_subject(&client, &config.stream_name, &subject).await.len(), 1);

    delete_stream(&client, &config.stream_name).await;
}

#[tokio::test]
async fn a_recipient_id_with_subject_characters_gets_one_token_of_its_own() {
    let client = nats_client().await;
    let config = config_of_one_test();
    let channel = NatsChannel::connect(client.clone(), config.clone()).await.expect("the stream is created");
    let mut delivery = delivery(ChannelKind::Nats, "");
    delivery.recipient.id = "phòng.kế hoạch>*".to_owned();

    channel.deliver(&delivery).await.expect("JetStream acknowledges");

    let subject = notification_subject(&config.subject_prefix, &delivery.recipient.id);
    assert_eq!(subject, format!("{}.phòng%2Ekế%20hoạch%3E%2A", config.subject_prefix));
    assert_eq!(read_subject(&client, &config.stream_name, &subject).await.len(), 1);

    delete_stream(&client, &config.stream_name).await;
}

#[tokio::test]
async fn construction_creates_the_stream_and_updates_what_it_owns() {
    let client = nats_client().await;
    let config = config_of_one_test();
    NatsChannel::connect(client.clone(), config.clone()).await.expect("the stream is created");
    NatsChannel::connect(client.clone(), config.clone()).await.expect("the same stream is taken as it is");

    let jetstream = async_nats::jetstream::new(client.clone());
    let mut stream = jetstream.get_stream(&config.stream_name).await.expect("the stream exists");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.config.subjects, [format!("{}.>", config.subject_prefix)]);
    assert_eq!(info.config.storage, async_nats::jetstream::stream::StorageType::File);
    assert_eq!(info.config.duplicate_window, Duration::from_secs(24 * 60 * 60));

    let shorter_window = NatsChannelConfig { duplicate_window: Duration::from_secs(600), ..config.clone() };
    NatsChannel::connect(client.clone(), shorter_window).await.expect("the stream is updated");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.config.duplicate_window, Duration::from_secs(600));

    delete_stream(&client, &config.stream_name).await;
}
