//! Downtime: the clock jumps over several reminders' times at once, as when the service was down. Each rule's
//! catch-up policy applies to the latest reminder of a series, the earlier ones are recorded superseded, and
//! nothing is sent in a burst or dropped without a record.

use domain::reminder::{ReminderEvent, SkipReason};
use notification::channel::ChannelKind;
use notification::store::digest_id;

use crate::support::{at, date, reminder_events, Receivers};
use crate::world::{Backend, World};

/// Reasons of the skips recorded on a task, and the occurrence keys it was sent for.
async fn outcomes(world: &World, task_id: uuid::Uuid) -> (Vec<(String, SkipReason)>, Vec<(String, bool)>) {
    let mut skipped = Vec::new();
    let mut sent = Vec::new();
    for event in reminder_events(world.events.as_ref(), task_id).await {
        match event {
            ReminderEvent::ReminderSkipped(skip) => skipped.push((skip.occurrence_key, skip.reason)),
            ReminderEvent::ReminderSent(sent_event) => sent.push((sent_event.occurrence_key, sent_event.late)),
            ReminderEvent::ReminderFailed(_) => {}
        }
    }
    (skipped, sent)
}

fn step_name(key: &str) -> &str {
    key.rsplit(':').next().unwrap_or_default()
}

#[tokio::test]
async fn after_downtime_only_the_latest_reminder_of_a_series_goes_out_late_and_the_others_are_superseded() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-03"), 9, 0)).await;
    assert!(receivers.webhook.deliveries().is_empty());

    // Down from 3/6 to 27/6 08:30: 14, 7, 3 and 1 working days before 28/6 all fell due meanwhile.
    world.step_to(at(date("2024-06-27"), 8, 30)).await;
    let (skipped, sent) = outcomes(&world, tasks[0]).await;
    let superseded: Vec<&str> =
        skipped.iter().filter(|(_, reason)| *reason == SkipReason::Superseded).map(|(key, _)| step_name(key)).collect();
    for step in ["before-14", "before-7", "before-3"] {
        assert!(superseded.contains(&step), "{step} superseded: {skipped:?}");
    }
    let sent_steps: Vec<(&str, bool)> = sent.iter().map(|(key, late)| (step_name(key), *late)).collect();
    assert!(sent_steps.iter().all(|(step, late)| *step == "before-1" && *late), "{sent_steps:?}");
    let webhooks = receivers.webhook_keys();
    assert_eq!(webhooks.len(), 1, "one reminder, not a burst: {webhooks:?}");
    assert!(webhooks.keys().all(|key| key.ends_with(":before-1")));
    let event = receivers.webhook.deliveries()[0].event().unwrap();
    assert!(event.data.reminder.late, "marked late");

    // Down again until 10/7: the day itself, the 1st overdue (1/7) and the 2nd (8/7) fell due. Only the 2nd goes
    // out (late: overdue reminders are sent late by default), to the unit and, escalated, to the approver.
    world.step_to(at(date("2024-07-10"), 8, 30)).await;
    let (skipped, sent) = outcomes(&world, tasks[0]).await;
    for key in ["on-the-day", "1"] {
        assert!(
            skipped
                .iter()
                .any(|(skipped_key, reason)| step_name(skipped_key) == key && *reason == SkipReason::Superseded),
            "{key} superseded: {skipped:?}"
        );
    }
    let overdue_sent: Vec<&(String, bool)> = sent.iter().filter(|(key, _)| key.starts_with("overdue:")).collect();
    assert!(!overdue_sent.is_empty() && overdue_sent.iter().all(|(key, late)| key.ends_with(":2") && *late));
    let webhooks = receivers.webhook_keys();
    assert_eq!(webhooks.len(), 2, "{webhooks:?}");
    assert!(webhooks.values().all(|&n| n == 1));
    let escalations =
        receivers.email_keys().keys().filter(|(key, to)| key.ends_with(":2") && to.starts_with("giamdoc")).count();
    assert_eq!(escalations, 1, "the 2nd overdue reminder is escalated to the approver");
    world.teardown().await;
}

#[tokio::test]
async fn a_reminder_older_than_the_catch_up_window_is_recorded_too_old_and_not_sent() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-03"), 9, 0)).await;
    // Down until 5/7: the last reminder (on the day, 28/6) is 7 days old, beyond the default 3 days.
    world.step_to(at(date("2024-07-05"), 9, 0)).await;
    let (skipped, sent) = outcomes(&world, tasks[0]).await;
    assert!(sent.is_empty(), "{sent:?}");
    assert!(skipped.iter().any(|(key, reason)| step_name(key) == "on-the-day" && *reason == SkipReason::TooOld));
    assert!(skipped.iter().filter(|(_, reason)| *reason == SkipReason::Superseded).count() >= 4);
    assert!(receivers.webhook.deliveries().is_empty());
    assert!(receivers.smtp.messages().is_empty());
    world.teardown().await;
}

#[tokio::test]
async fn late_reminders_with_the_digest_policy_are_folded_into_one_message_per_recipient() {
    let receivers = Receivers::start().await;
    let config = receivers.config(
        "[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n[rules.deadline]\ncatch_up = \"digest\"",
    );
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28", "2024-06-27", "2024-07-10"]).await;
    world.step_to(at(date("2024-06-03"), 9, 0)).await;
    // Down until 27/6 10:00: task 1's "1 day before" and task 2's "on the day" (both 27/6 08:00) are late, and
    // task 3's "14 working days before" (20/6): each series' latest reminder goes into the digest.
    world.step_to(at(date("2024-06-27"), 10, 0)).await;
    let webhooks = receivers.webhook.deliveries();
    assert_eq!(webhooks.len(), 1, "one digest to the webhook endpoint");
    let digest = webhooks[0].event().unwrap();
    assert_eq!(digest.data.reminder.tasks.len(), 3, "{:?}", digest.data.reminder.tasks);
    assert!(digest.data.message.subject.contains("Tổng hợp"), "{}", digest.data.message.subject);
    assert_eq!(receivers.smtp.messages().len(), 1, "one digest email to the unit");
    for task_id in &tasks {
        let (_, sent) = outcomes(&world, *task_id).await;
        assert!(!sent.is_empty());
    }
    let digest_flags: Vec<bool> = reminder_events(world.events.as_ref(), tasks[0])
        .await
        .into_iter()
        .filter_map(|event| match event {
            ReminderEvent::ReminderSent(sent) => Some(sent.digest),
            _ => None,
        })
        .collect();
    assert!(!digest_flags.is_empty() && digest_flags.iter().all(|digest| *digest));
    world.teardown().await;
}

#[tokio::test]
async fn a_completed_task_is_not_chased_and_once_reopened_it_is_again() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28"]).await;
    world.step_to(at(date("2024-06-01"), 7, 30)).await;
    world.complete_task(tasks[0], "2024-06-05").await;
    // 14 working days before 28/06 is 10/06: skipped, the task is done.
    world.step_to(at(date("2024-06-10"), 8, 1)).await;
    assert!(receivers.webhook.deliveries().is_empty());
    let planner = domain::actor::Actor {
        id: "vp.nguyenvanan".to_owned(),
        name: "Nguyễn Văn An".to_owned(),
        unit: domain::unit_code::UnitCode::parse("VP-UBND").unwrap(),
        role: domain::actor::Role::Planner,
    };
    let (status, body) = world
        .command(
            &planner,
            axum::http::Method::POST,
            &format!("/v1/tasks/{}/reopening", tasks[0]),
            serde_json::json!({"reason": "Kết quả chưa đạt", "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
                               "effective_on": "2024-06-11"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // 7 working days before: 19/06, sent.
    world.step_to(at(date("2024-06-19"), 8, 1)).await;
    let (skipped, sent) = outcomes(&world, tasks[0]).await;
    assert!(skipped.iter().any(|(key, reason)| step_name(key) == "before-14" && *reason == SkipReason::TaskCompleted));
    // Sent once per channel (feed, email, webhook), all for the reminder 7 working days before.
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|(key, _)| step_name(key) == "before-7"), "{sent:?}");
    assert_eq!(receivers.webhook.deliveries().len(), 1);
    world.teardown().await;
}

/// The webhook digest's day on which a replica dies mid-digest.
const DIGEST_DAY: &str = "2024-06-27";

/// A service down until 27/6 10:00 with three late reminders under the digest policy; a replica claims them,
/// reserves the day's first webhook digest id, marks the sends of the first `n_started` webhook deliveries (all of
/// them when `None`) started with it, as it does right before sending, and dies. Its lease expires and the survivor
/// dispatches at 10:01.
async fn a_replica_dies_mid_digest(n_started: Option<usize>) -> (Receivers, World, Vec<uuid::Uuid>) {
    let receivers = Receivers::start().await;
    let config = receivers.config(
        "lease = \"1s\"\n[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
         [rules.deadline]\ncatch_up = \"digest\"",
    );
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    let (_, tasks) = world.plan_with_tasks(&["2024-06-28", "2024-06-27", "2024-07-10"]).await;
    world.step_to(at(date("2024-06-03"), 9, 0)).await;

    let now = at(date(DIGEST_DAY), 10, 0);
    world.clock.set(now);
    world.service().catch_up().await.expect("the consumer catches up");
    let store = &world.service().store;
    let claimed = store.claim_due(now, "dead-replica", std::time::Duration::from_secs(1), 256).await.unwrap();
    let webhook_ids: Vec<&str> = claimed
        .iter()
        .filter(|delivery| delivery.channel == ChannelKind::Webhook)
        .map(|delivery| delivery.delivery_id.as_str())
        .collect();
    assert!(webhook_ids.len() >= 2, "{webhook_ids:?}");
    let reserved = store.reserve_digest_id("SO-KHCN", ChannelKind::Webhook, "portal", date(DIGEST_DAY)).await.unwrap();
    assert_eq!(reserved, digest_id("SO-KHCN", ChannelKind::Webhook, "portal", date(DIGEST_DAY), 1));
    let to_start = &webhook_ids[..n_started.unwrap_or(webhook_ids.len())];
    let started = store.start_attempts(to_start, "dead-replica", Some(&reserved)).await.unwrap();
    assert_eq!(started.len(), to_start.len());

    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    world.step_to(at(date(DIGEST_DAY), 10, 1)).await;
    (receivers, world, tasks)
}

#[tokio::test]
async fn a_digest_sent_again_after_its_replica_died_keeps_its_id_of_the_recipient_channel_and_day() {
    let (receivers, world, tasks) = a_replica_dies_mid_digest(None).await;
    // The survivor sends the digest again under the same id, marked a redelivery.
    let day = date(DIGEST_DAY);
    let webhooks = receivers.webhook.deliveries();
    assert_eq!(webhooks.len(), 1, "one digest to the webhook endpoint");
    assert_eq!(webhooks[0].webhook_id, digest_id("SO-KHCN", ChannelKind::Webhook, "portal", day, 1));
    assert!(webhooks[0].redelivery);
    assert_eq!(webhooks[0].event().unwrap().data.reminder.tasks.len(), 3);
    for task_id in &tasks {
        let (_, sent) = outcomes(&world, *task_id).await;
        assert!(!sent.is_empty());
    }
    // The email digest, claimed but never started, is no redelivery; a further digest that day has the next id.
    assert_eq!(receivers.smtp.messages().len(), 1, "one digest email to the unit");
    let next = world.service().store.reserve_digest_id("SO-KHCN", ChannelKind::Webhook, "portal", day).await.unwrap();
    assert_eq!(next, digest_id("SO-KHCN", ChannelKind::Webhook, "portal", day, 2));
    world.teardown().await;
}

#[tokio::test]
async fn a_digest_that_would_carry_more_than_what_went_under_its_id_goes_under_a_new_id() {
    let (receivers, world, tasks) = a_replica_dies_mid_digest(Some(1)).await;
    // The survivor's digest carries more than went under the first id: under that id the receiver would drop it
    // as a copy, so it goes under the day's next id, and is no redelivery.
    let webhooks = receivers.webhook.deliveries();
    assert_eq!(webhooks.len(), 1, "one digest to the webhook endpoint");
    assert_eq!(webhooks[0].webhook_id, digest_id("SO-KHCN", ChannelKind::Webhook, "portal", date(DIGEST_DAY), 2));
    assert!(!webhooks[0].redelivery);
    assert_eq!(webhooks[0].event().unwrap().data.reminder.tasks.len(), 3);
    for task_id in &tasks {
        let (_, sent) = outcomes(&world, *task_id).await;
        assert!(!sent.is_empty());
    }
    world.teardown().await;
}
