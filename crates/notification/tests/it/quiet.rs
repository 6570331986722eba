//! Civil time: outside working hours a reminder waits for the next working window, unless it is critical (an
//! escalation); with the daily digest on, reminders wait for the recipient's next digest and go out in it.

use crate::support::{at, date, Receivers};
use crate::world::{Backend, World};

#[tokio::test]
async fn in_quiet_hours_reminders_wait_for_the_working_day_but_escalations_go_at_once() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.reports]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    world.plan_with_tasks(&["2024-07-05", "2024-06-28"]).await;
    world.step_to(at(date("2024-06-01"), 7, 30)).await;
    world.step_to(at(date("2024-07-02"), 8, 5)).await;
    let n_before = receivers.webhook.deliveries().len();

    // The service comes back at 02:00 on Tuesday 09/07: task 1's "on the day" (05/07) is late but goes at 08:00,
    // while task 2's 2nd overdue reminder (08/07), an escalation, is critical and goes at once.
    let round = world.step_to(at(date("2024-07-09"), 2, 0)).await;
    assert!(round.n_deferred > 0, "{round:?}");
    let at_night: Vec<String> = receivers.webhook.deliveries()[n_before..]
        .iter()
        .map(|delivery| delivery.event().unwrap().data.reminder.occurrence_key)
        .collect();
    assert!(
        !at_night.is_empty() && at_night.iter().all(|key| key.starts_with("overdue:") && key.ends_with(":2")),
        "{at_night:?}"
    );
    let n_at_night = receivers.webhook.deliveries().len();
    world.step_to(at(date("2024-07-09"), 7, 59)).await;
    assert_eq!(receivers.webhook.deliveries().len(), n_at_night, "nothing more before 08:00");
    world.step_to(at(date("2024-07-09"), 8, 0)).await;
    let in_the_morning: Vec<String> = receivers.webhook.deliveries()[n_at_night..]
        .iter()
        .map(|delivery| delivery.event().unwrap().data.reminder.occurrence_key)
        .collect();
    assert!(in_the_morning.iter().any(|key| key.starts_with("overdue:") && key.ends_with(":1")), "{in_the_morning:?}");
    world.teardown().await;
}

#[tokio::test]
async fn with_the_daily_digest_a_days_reminders_go_out_together_in_the_next_digest() {
    let receivers = Receivers::start().await;
    let config = receivers.config(
        "[rules.reports]\nenabled = false\n[rules.overdue]\nenabled = false\n\
         [rules.digest]\nenabled = true\nsend_at = \"08:30\"",
    );
    let world = World::start(Backend::Sqlite, config, at(date("2024-06-01"), 7, 0), 1).await;
    world.plan_with_tasks(&["2024-06-28", "2024-06-27", "2024-07-12"]).await;
    world.step_to(at(date("2024-06-01"), 7, 30)).await;
    // 27/06 08:00: task 1's "1 day before" and task 2's "on the day"; the digest is at 08:30.
    world.step_to(at(date("2024-06-26"), 9, 0)).await;
    let n_before = receivers.webhook.deliveries().len();
    world.step_to(at(date("2024-06-27"), 8, 10)).await;
    assert_eq!(receivers.webhook.deliveries().len(), n_before, "nothing before the digest");
    world.step_to(at(date("2024-06-27"), 8, 30)).await;
    let digests = &receivers.webhook.deliveries()[n_before..];
    assert_eq!(digests.len(), 1, "one digest for the unit's webhook");
    let digest = digests[0].event().unwrap();
    assert_eq!(digest.data.reminder.tasks.len(), 2, "{:?}", digest.data.reminder.tasks);
    assert!(!digest.data.reminder.late);
    world.teardown().await;
}
