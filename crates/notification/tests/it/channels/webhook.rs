//! The webhook channel against a real HTTP server (`notification::testing::webhook`) that verifies each
//! signature: what arrives, what a receiver refuses, and how each answer is classified.

use std::collections::BTreeMap;
use std::time::Duration;

use notification::channel::{Channel, ChannelKind, Delivery, DeliveryError};
use notification::channels::payload::ReminderFacts;
use notification::channels::webhook::{
    sign, WebhookChannel, WebhookConfig, WebhookEndpoint, WebhookSecret, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
};
use notification::testing::webhook::WebhookReceiver;
use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::fixtures::{closed_port, delivery, next_attempt};

const ENDPOINT: &str = "province-portal";
const WAIT: Duration = Duration::from_secs(10);

fn secret() -> WebhookSecret {
    WebhookSecret::parse("whsec_dGFza2xlZGdlciB3ZWJob29rIHRlc3Qgc2VjcmV0IGtleQ==").expect("a valid secret")
}

fn channel_to(url: String, secret: WebhookSecret, timeout: Duration) -> WebhookChannel {
    let config = WebhookConfig {
        endpoints: BTreeMap::from([(ENDPOINT.to_owned(), WebhookEndpoint { url, secret })]),
        timeout,
        ..WebhookConfig::default()
    };
    WebhookChannel::new(config).expect("a valid webhook configuration")
}

async fn receiver_and_channel() -> (WebhookReceiver, WebhookChannel) {
    let receiver = WebhookReceiver::start(secret()).await.expect("the test webhook server starts");
    let channel = channel_to(receiver.url("/hooks/reminders"), secret(), Duration::from_secs(5));
    (receiver, channel)
}

fn webhook_delivery() -> Delivery {
    delivery(ChannelKind::Webhook, ENDPOINT)
}

#[tokio::test]
async fn a_webhook_arrives_signed_with_the_delivery_id_and_the_published_json() {
    let (receiver, channel) = receiver_and_channel().await;
    let delivery = webhook_delivery();

    let receipt = channel.deliver(&delivery).await.expect("the webhook is taken");
    assert_eq!(receipt.detail, "HTTP 200");

    let received = receiver.wait_for_deliveries(1, WAIT).await.expect("one webhook arrives");
    assert_eq!(receiver.n_rejected(), 0);
    let webhook = &received[0];
    assert_eq!(webhook.path, "/hooks/reminders");
    assert_eq!(webhook.webhook_id, delivery.delivery_id);
    let sent_at = OffsetDateTime::now_utc().unix_timestamp() - webhook.webhook_timestamp;
    assert!((0..60).contains(&sent_at), "signed {sent_at} s ago");
    let event = webhook.event().expect("the body is the published JSON");
    assert_eq!(event.event_type, "reminder.deadline_approaching");
    assert_eq!(event.timestamp, "2024-12-26T08:00:00+07:00");
    assert_eq!(event.data.delivery_id, delivery.delivery_id);
    assert_eq!(event.data.reminder, ReminderFacts::from_reminder(&delivery.reminder));
    assert_eq!(event.data.recipient, delivery.recipient);
    assert_eq!(event.data.message, delivery.message);
}

#[tokio::test]
async fn every_attempt_of_a_delivery_carries_the_same_webhook_id_and_body() {
    let (receiver, channel) = receiver_and_channel().await;
    let delivery = webhook_delivery();
    channel.deliver(&delivery).await.expect("the first attempt is taken");
    channel.deliver(&next_attempt(&delivery)).await.expect("the second attempt is taken");
    channel.deliver(&webhook_delivery()).await.expect("another delivery is taken");

    let received = receiver.wait_for_deliveries(3, WAIT).await.expect("three webhooks arrive");
    assert_eq!(received[0].webhook_id, received[1].webhook_id);
    assert_eq!(received[0].body, received[1].body);
    assert_ne!(received[0].webhook_id, received[2].webhook_id);
    assert_eq!(receiver.n_duplicates(), 1);
}

#[tokio::test]
async fn server_errors_408_and_429_are_transient_and_other_4xx_permanent() {
    let (receiver, channel) = receiver_and_channel().await;
    let cases = [
        (StatusCode::INTERNAL_SERVER_ERROR, true),
        (StatusCode::BAD_GATEWAY, true),
        (StatusCode::SERVICE_UNAVAILABLE, true),
        (StatusCode::REQUEST_TIMEOUT, true),
        (StatusCode::TOO_MANY_REQUESTS, true),
        (StatusCode::BAD_REQUEST, false),
        (StatusCode::NOT_FOUND, false),
        (StatusCode::GONE, false),
        (StatusCode::MOVED_PERMANENTLY, false),
    ];
    for (status, transient) in cases {
        receiver.fail_next(1, status);
        let outcome = channel.deliver(&webhook_delivery()).await;
        let expected_detail = format!("HTTP {}", status.as_u16());
        match (&outcome, transient) {
            (Err(DeliveryError::Transient(detail)), true) | (Err(DeliveryError::Permanent(detail)), false) => {
                assert!(detail.starts_with(&expected_detail), "{status}: {detail}");
            }
            _ => panic!("{status} gave {outcome:?}, expected transient: {transient}"),
        }
    }
    assert!(receiver.deliveries().is_empty());

    let delivery = webhook_delivery();
    receiver.fail_next(1, StatusCode::INTERNAL_SERVER_ERROR);
    let first = channel.deliver(&delivery).await;
    assert!(matches!(first, Err(DeliveryError::Transient(_))), "{first:?}");
    channel.deliver(&next_attempt(&delivery)).await.expect("the retry is taken");
    assert_eq!(receiver.wait_for_deliveries(1, WAIT).await.expect("the retry arrives").len(), 1);
    assert_eq!(receiver.n_duplicates(), 0);
}

#[tokio::test]
async fn a_slow_endpoint_is_transient_after_the_timeout() {
    let receiver = WebhookReceiver::start(secret()).await.expect("the test webhook server starts");
    receiver.set_delay(Duration::from_secs(3));
    let channel = channel_to(receiver.url("/hooks"), secret(), Duration::from_millis(300));

    let started = std::time::Instant::now();
    let outcome = channel.deliver(&webhook_delivery()).await;
    assert!(
        matches!(&outcome, Err(DeliveryError::Transient(detail)) if detail.starts_with("timed out")),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let channel =
        channel_to(format!("http://127.0.0.1:{}/hooks", closed_port().await), secret(), Duration::from_secs(5));
    let outcome = channel.deliver(&webhook_delivery()).await;
    assert!(
        matches!(&outcome, Err(DeliveryError::Transient(detail)) if detail.starts_with("connection failed")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_unknown_endpoint_is_permanent() {
    let (receiver, channel) = receiver_and_channel().await;
    let outcome = channel.deliver(&delivery(ChannelKind::Webhook, "no-such-endpoint")).await;
    assert!(matches!(outcome, Err(DeliveryError::Permanent(_))), "{outcome:?}");
    assert_eq!(receiver.n_requests(), 0);
}

#[tokio::test]
async fn a_receiver_with_another_secret_refuses_the_webhook_and_that_is_permanent() {
    let receiver = WebhookReceiver::start(secret()).await.expect("the test webhook server starts");
    let other_secret = WebhookSecret::from_bytes(b"another endpoint's key".to_vec()).expect("a key");
    let channel = channel_to(receiver.url("/hooks"), other_secret, Duration::from_secs(5));
    let outcome = channel.deliver(&webhook_delivery()).await;
    assert!(matches!(&outcome, Err(DeliveryError::Permanent(detail)) if detail == "HTTP 401"), "{outcome:?}");
    assert_eq!(receiver.n_rejected(), 1);
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn the_receiver_refuses_a_tampered_body_and_an_old_timestamp() {
    let receiver = WebhookReceiver::start(secret()).await.expect("the test webhook server starts");
    let client = reqwest::Client::new();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let body = br#"{"type":"reminder.overdue"}"#;
    let post = |timestamp: i64, signed_body: &'static [u8], sent_body: &'static [u8]| {
        client
            .post(receiver.url("/hooks"))
            .header(WEBHOOK_ID_HEADER, "dlv-tamper")
            .header(WEBHOOK_TIMESTAMP_HEADER, timestamp.to_string())
            .header(WEBHOOK_SIGNATURE_HEADER, sign(&secret(), "dlv-tamper", timestamp, signed_body))
            .body(sent_body)
            .send()
    };

    let tampered = post(now, body, br#"{"type":"reminder.report_due"}"#).await.expect("an answer");
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
    let replayed = post(now - 600, body, body).await.expect("an answer");
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let from_the_future = post(now + 600, body, body).await.expect("an answer");
    assert_eq!(from_the_future.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(receiver.n_rejected(), 3);

    let genuine = post(now, body, body).await.expect("an answer");
    assert_eq!(genuine.status(), StatusCode::OK);
    assert_eq!(receiver.deliveries().len(), 1);
}
