//! The service with the NATS channel configured: a reminder is published on JetStream, on
//! `taskledger.notifications.<recipient>` of the stream `TASKLEDGER_NOTIFICATIONS`, with `Nats-Msg-Id` = its
//! delivery id, and a consumer of that subject reads it. Against the real NATS server (`channels::nats`).

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use futures_util::StreamExt;
use notification::channel::ChannelKind;
use notification::channels::nats::{DEFAULT_STREAM_NAME, OCCURRENCE_HEADER};
use notification::channels::payload::ReminderEvent;
use notification::rules::NotificationConfig;
use notification::store::delivery_id;

use crate::channels::nats::nats_client;
use crate::support::{at, date};
use crate::world::World;

const RULES: &str = r#"
[rules.reports]
enabled = false
[rules.overdue]
enabled = false
[rules.deadline]
before_working_days = [7]
on_the_day = false
channels = ["nats"]

[directory.units.SO-KHCN]
name = "Sở Khoa học và Công nghệ"
nats = true

[nats]
subject_prefix = "taskledger.notifications"
"#;

#[tokio::test]
async fn the_service_publishes_a_reminder_on_the_recipients_jetstream_subject_with_its_delivery_id() {
    let client = nats_client().await;
    let config = NotificationConfig::parse(RULES, "notification.toml").expect("the rule file parses");
    let started_at = time::OffsetDateTime::now_utc();
    let world = World::start_on_nats(config, at(date("2024-06-01"), 7, 0), client.clone()).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-01"), 7, 1)).await;
    // 7 working days before Friday 28/06/2024: 19/06 at 08:00.
    let round = world.step_to(at(date("2024-06-19"), 8, 1)).await;
    assert_eq!(round.n_sent, 1, "{round:?}");

    let occurrence_key = format!("deadline:{}:2024-06-28:before-7", tasks[0]);
    let subject = "taskledger.notifications.SO-KHCN";
    let expected_id = delivery_id(&occurrence_key, "SO-KHCN", ChannelKind::Nats, subject);
    let jetstream = async_nats::jetstream::new(client.clone());
    let stream = jetstream.get_stream(DEFAULT_STREAM_NAME).await.expect("the service created the stream");
    let consumer = stream
        .create_consumer(pull::Config {
            filter_subject: subject.to_owned(),
            deliver_policy: DeliverPolicy::ByStartTime { start_time: started_at },
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            ..pull::Config::default()
        })
        .await
        .expect("create a consumer of the recipient's subject");
    let mut batch = consumer
        .fetch()
        .max_messages(1_000)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch from the consumer");
    let mut found = Vec::new();
    while let Some(message) = batch.next().await {
        let message = message.expect("a message");
        let headers = message.headers.clone().unwrap_or_default();
        if headers.get("Nats-Msg-Id").map(|value| value.as_str()) == Some(expected_id.as_str()) {
            found.push(message);
        }
    }
    assert_eq!(found.len(), 1, "one message with Nats-Msg-Id {expected_id} on {subject}");
    let message = &found[0];
    let headers = message.headers.clone().unwrap_or_default();
    assert_eq!(headers.get(OCCURRENCE_HEADER).map(|value| value.as_str()), Some(occurrence_key.as_str()));
    let event: ReminderEvent = serde_json::from_slice(&message.payload).expect("the published JSON");
    assert_eq!(event.data.reminder.occurrence_key, occurrence_key);
    assert_eq!(event.data.delivery_id, expected_id);
    world.teardown().await;
}
