//! What the notification scenarios share: the receivers (a real SMTP server and a real webhook server on
//! 127.0.0.1, from `notification::testing`), a rule file pointing at them, civil instants, and reading back what
//! arrived and what was recorded.

use std::collections::BTreeMap;

use domain::ids::TaskId;
use domain::reminder::{reminder_stream_id, ReminderEvent};
use event_store::{EventStore, StreamId};
use notification::channels::webhook::WebhookSecret;
use notification::rules::NotificationConfig;
use notification::testing::smtp::{header_value, SmtpReceiver};
use notification::testing::webhook::WebhookReceiver;
use time::{Date, OffsetDateTime, Time};

pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const UNIT_EMAIL: &str = "vanthu@skhcn.example.gov.vn";
pub const APPROVER_EMAIL: &str = "giamdoc@skhcn.example.gov.vn";
pub const APPROVER_ID: &str = "giamdoc-khcn";

/// The two receivers a test sends to.
pub struct Receivers {
    pub smtp: SmtpReceiver,
    pub webhook: WebhookReceiver,
}

impl Receivers {
    pub async fn start() -> Receivers {
        let smtp = SmtpReceiver::start().await.expect("start the SMTP receiver on 127.0.0.1");
        let secret = WebhookSecret::parse(WEBHOOK_SECRET).expect("the test secret parses");
        let webhook = WebhookReceiver::start(secret).await.expect("start the webhook receiver on 127.0.0.1");
        Receivers { smtp, webhook }
    }

    /// A rule file sending to these receivers, with `rules_toml` appended (extra `[rules.…]` tables).
    pub fn config(&self, rules_toml: &str) -> NotificationConfig {
        let text = format!(
            r#"
[rules]
retry_ladder = ["1m", "10m"]

{rules_toml}

[directory.units.SO-KHCN]
name = "Sở Khoa học và Công nghệ"
emails = ["{UNIT_EMAIL}"]
webhooks = ["portal"]
approver = {{ id = "{APPROVER_ID}", name = "Giám đốc Sở", email = "{APPROVER_EMAIL}" }}

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "taskledger <nhacviec@skhcn.example.gov.vn>"
timeout = "5s"

[[webhooks]]
name = "portal"
url = "{webhook_url}"
secret = "{WEBHOOK_SECRET}"
timeout = "5s"
"#,
            smtp_port = self.smtp.local_addr().port(),
            webhook_url = self.webhook.url("/hooks/portal"),
        );
        NotificationConfig::parse(&text, "test.toml").expect("the test rule file parses")
    }

    /// Occurrence keys of the webhooks received, with how many times each arrived.
    pub fn webhook_keys(&self) -> BTreeMap<String, usize> {
        let mut keys = BTreeMap::new();
        for delivery in self.webhook.deliveries() {
            let event = delivery.event().expect("a webhook body is the published JSON");
            *keys.entry(event.data.reminder.occurrence_key).or_insert(0) += 1;
        }
        keys
    }

    /// `(occurrence key, recipient address)` of the emails received, with how many times each arrived.
    pub fn email_keys(&self) -> BTreeMap<(String, String), usize> {
        let mut keys = BTreeMap::new();
        for email in self.smtp.messages() {
            let key = header_value(&email.data, notification::channels::email::OCCURRENCE_HEADER)
                .expect("every email names its occurrence");
            for recipient in email.rcpt_to {
                *keys.entry((key.clone(), recipient)).or_insert(0) += 1;
            }
        }
        keys
    }
}

/// 08:00 … in Vietnam on a date, as the rules send.
pub fn at(date: Date, hour: u8, minute: u8) -> OffsetDateTime {
    notification::calendar::vietnam_instant(date, Time::from_hms(hour, minute, 0).unwrap())
}

pub fn date(text: &str) -> Date {
    domain::deadline::parse_date_iso(text).unwrap()
}

/// The reminder events recorded on a task's reminder stream.
pub async fn reminder_events(events: &dyn EventStore, task_id: uuid::Uuid) -> Vec<ReminderEvent> {
    let stored = events.read_stream(&StreamId(reminder_stream_id(TaskId(task_id))), 0).await.unwrap();
    stored
        .iter()
        .map(|event| {
            serde_json::from_value(serde_json::json!({"event_type": event.event_type, "payload": event.payload}))
                .unwrap()
        })
        .collect()
}
