//! Far sides that fail: a webhook answering 503 is retried on the ladder and then dead-lettered; an endpoint that
//! keeps failing is disabled and its deliveries skipped until an operator enables it; an SMTP relay that does not
//! answer is retried and reported, and the service keeps working. Every attempt is recorded.

use axum::http::StatusCode;
use domain::reminder::{ReminderEvent, SkipReason};
use notification::rules::NotificationConfig;
use time::Duration;

use crate::support::{at, date, reminder_events, Receivers};
use crate::world::{Backend, World};

const ONLY_DEADLINE_WEBHOOKS: &str = "[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
     [rules.deadline]\nbefore_working_days = [1]\non_the_day = false\nchannels = [\"webhook\"]";

#[tokio::test]
async fn a_failing_webhook_is_retried_on_the_ladder_then_dead_lettered_and_every_attempt_is_recorded() {
    let receivers = Receivers::start().await;
    let world =
        World::start(Backend::Sqlite, receivers.config(ONLY_DEADLINE_WEBHOOKS), at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28", "2024-06-28"]).await;
    let due = at(date("2024-06-27"), 8, 0);

    // Both deliveries fail; on the first retry one gets through; the other fails its last attempt too.
    receivers.webhook.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    let round = world.step_to(due).await;
    assert_eq!(round.n_failed, 2, "{round:?}");
    // The ladder is 1 minute then 10 minutes: 3 attempts in all.
    receivers.webhook.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let round = world.step_to(due + Duration::minutes(2)).await;
    assert_eq!((round.n_sent, round.n_failed), (1, 1), "{round:?}");
    receivers.webhook.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let round = world.step_to(due + Duration::minutes(15)).await;
    assert_eq!(round.n_dead, 1, "{round:?}");
    let delivered = receivers.webhook.deliveries();
    assert_eq!(delivered.len(), 1, "one delivery got through");
    assert_eq!(receivers.webhook.n_duplicates(), 0);

    let dead = world.service().store.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].last_error.contains("503"), "{}", dead[0].last_error);

    let mut n_failed_events = 0;
    let mut n_dead_lettered = 0;
    let mut n_sent = 0;
    for task_id in &tasks {
        for event in reminder_events(world.events.as_ref(), *task_id).await {
            match event {
                ReminderEvent::ReminderFailed(failed) => {
                    n_failed_events += 1;
                    if failed.dead_lettered {
                        n_dead_lettered += 1;
                        assert!(failed.retry_at.is_none());
                    } else {
                        assert!(failed.retry_at.is_some_and(|retry_at| retry_at > due));
                    }
                }
                ReminderEvent::ReminderSent(sent) => {
                    n_sent += 1;
                    assert!(sent.attempt >= 2, "sent on a retry");
                }
                ReminderEvent::ReminderSkipped(_) => {}
            }
        }
    }
    assert_eq!((n_failed_events, n_dead_lettered, n_sent), (4, 1, 1));
    world.teardown().await;
}

#[tokio::test]
async fn an_endpoint_failing_again_and_again_is_disabled_its_deliveries_skipped_until_enabled() {
    let receivers = Receivers::start().await;
    let world =
        World::start(Backend::Sqlite, receivers.config(ONLY_DEADLINE_WEBHOOKS), at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"; 6]).await;
    let due = at(date("2024-06-27"), 8, 0);
    receivers.webhook.fail_next(100, StatusCode::BAD_GATEWAY);
    world.step_to(due).await;
    let endpoints = world.service().store.endpoints().await.unwrap();
    assert!(endpoints.iter().any(|endpoint| endpoint.endpoint == "portal" && endpoint.disabled), "{endpoints:?}");

    // The retries find the endpoint disabled: skipped, recorded, not sent.
    let n_requests_before = receivers.webhook.n_requests();
    world.step_to(due + Duration::minutes(2)).await;
    assert_eq!(receivers.webhook.n_requests(), n_requests_before, "nothing is sent to a disabled endpoint");
    let mut n_disabled_skips = 0;
    for task_id in &tasks {
        n_disabled_skips += reminder_events(world.events.as_ref(), *task_id)
            .await
            .iter()
            .filter(|event| {
                matches!(event, ReminderEvent::ReminderSkipped(skip) if skip.reason == SkipReason::EndpointDisabled)
            })
            .count();
    }
    assert_eq!(n_disabled_skips, 6);

    assert!(world.service().store.enable_endpoint("portal").await.unwrap());
    assert!(world.service().store.endpoint_disabled("portal").await.unwrap().is_none());
    world.teardown().await;
}

#[tokio::test]
async fn an_smtp_relay_that_does_not_answer_is_retried_and_reported_and_the_feed_still_works() {
    let receivers = Receivers::start().await;
    // A port nothing listens on: the connection is refused.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!(
        "[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
         [rules.deadline]\nbefore_working_days = [1]\non_the_day = false\nchannels = [\"email\", \"feed\"]\n\
         [directory.units.SO-KHCN]\nname = \"Sở KH&CN\"\nemails = [\"vanthu@skhcn.example.gov.vn\"]\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {closed_port}\ntls = \"none\"\nfrom = \"taskledger <a@b.vn>\"\n\
         timeout = \"2s\""
    );
    let config = NotificationConfig::parse(&text, "test.toml").unwrap();
    drop(receivers);
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    let due = at(date("2024-06-27"), 8, 0);
    let round = world.step_to(due).await;
    assert_eq!((round.n_sent, round.n_failed), (1, 1), "the feed item went, the email failed: {round:?}");
    let events = reminder_events(world.events.as_ref(), tasks[0]).await;
    let failure = events
        .iter()
        .find_map(|event| match event {
            ReminderEvent::ReminderFailed(failed) => Some(failed.clone()),
            _ => None,
        })
        .expect("the failure is recorded");
    assert!(!failure.permanent && failure.retry_at.is_some(), "{failure:?}");
    assert_eq!(failure.channel, "email");
    // The occurrence is not lost: it waits for its retry.
    let counts = world.service().store.status_counts().await.unwrap();
    assert!(counts.contains(&("pending".to_owned(), 1)), "{counts:?}");
    world.teardown().await;
}
