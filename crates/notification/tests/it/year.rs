//! A simulated year of the seed's plan: the clock stepped day by day from the plan's loading (25/01/2024) to
//! 20/01/2025, with a task completed in May and a deadline extended in December. The reminders expected are
//! computed here from the rules' defaults and the holiday calendar alone — not by the service's scheduler — and
//! compared, as sets, with what the SMTP and webhook receivers and the feed got: each exactly once.

use std::collections::{BTreeMap, BTreeSet};

use domain::deadline::{format_date_iso, Deadline};
use domain::reminder::{ReminderEvent, SkipReason};
use notification::calendar::HolidayCalendar;
use notification::periods::{periods_of_year, PeriodKind};
use sqlx::Row;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::support::{at, date, reminder_events, Receivers, APPROVER_EMAIL, APPROVER_ID, UNIT_EMAIL};
use crate::world::{Backend, World};

const START: &str = "2024-01-25";
const END: &str = "2025-01-20";
const COMPLETED_TASK: &str = "I.3";
const COMPLETED_ON: &str = "2024-05-20";
const EXTENDED_TASK: &str = "II.1";
const EXTENDED_ON: &str = "2024-12-16";
const EXTENDED_TO: &str = "2025-03";

#[tokio::test]
async fn a_year_of_the_demo_plan_on_sqlite_sends_every_reminder_exactly_once() {
    simulate_year(Backend::Sqlite, 1).await;
}

#[tokio::test]
async fn a_year_of_the_demo_plan_with_two_replicas_on_postgresql_sends_every_reminder_exactly_once() {
    simulate_year(Backend::Postgres, 2).await;
}

async fn simulate_year(backend: Backend, n_replicas: usize) {
    let receivers = Receivers::start().await;
    let config = receivers.config("");
    let calendar = config.calendar().unwrap();
    let world = World::start(backend, config, at(date(START), 7, 0), n_replicas).await;
    let demo = world.load_demo().await;

    let mut day = date(START);
    while day <= date(END) {
        if day == date(COMPLETED_ON) {
            world.complete_task(demo.task_ids[COMPLETED_TASK], COMPLETED_ON).await;
        }
        if day == date(EXTENDED_ON) {
            world.extend_deadline(demo.task_ids[EXTENDED_TASK], EXTENDED_TO, EXTENDED_ON).await;
        }
        world.step_to(at(day, 8, 0)).await;
        world.step_to(at(day, 12, 0)).await;
        day = day.next_day().unwrap();
    }

    let expected = expected_occurrences(&calendar, demo.plan_id, &demo.task_ids);
    let webhooks = receivers.webhook_keys();
    let received: BTreeSet<String> = webhooks.keys().cloned().collect();
    let expected_keys: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        received.difference(&expected_keys).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "webhooks that were not expected"
    );
    assert_eq!(
        expected_keys.difference(&received).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "expected webhooks that did not arrive"
    );
    assert!(webhooks.values().all(|&n| n == 1), "a webhook arrived twice: {webhooks:?}");
    assert_eq!(receivers.webhook.n_duplicates(), 0);

    let mut expected_emails: BTreeSet<(String, String)> = BTreeSet::new();
    let mut expected_feed: BTreeSet<(String, String)> = BTreeSet::new();
    for (key, escalated) in &expected {
        expected_emails.insert((key.clone(), UNIT_EMAIL.to_owned()));
        expected_feed.insert((key.clone(), "unit:SO-KHCN".to_owned()));
        if *escalated {
            expected_emails.insert((key.clone(), APPROVER_EMAIL.to_owned()));
            expected_feed.insert((key.clone(), format!("user:{APPROVER_ID}")));
        }
    }
    let emails = receivers.email_keys();
    assert_eq!(emails.keys().cloned().collect::<BTreeSet<_>>(), expected_emails, "emails");
    assert!(emails.values().all(|&n| n == 1), "an email arrived twice");
    assert_eq!(receivers.smtp.n_duplicates(), 0);

    let feed_rows = sqlx::query("SELECT occurrence_key, audience, owner FROM notify_feed")
        .fetch_all(world.service().store.db().pool())
        .await
        .unwrap();
    let feed: BTreeSet<(String, String)> = feed_rows
        .iter()
        .map(|row| {
            let audience: String = row.get(1);
            let prefix = if audience == "unit" { "unit" } else { "user" };
            (row.get::<String, _>(0), format!("{prefix}:{}", row.get::<String, _>(2)))
        })
        .collect();
    assert_eq!(feed, expected_feed, "feed items");
    assert_eq!(feed_rows.len(), expected_feed.len());

    // The completed task was not chased, and the history says why.
    let completed: Vec<ReminderEvent> = reminder_events(world.events.as_ref(), demo.task_ids[COMPLETED_TASK])
        .await
        .into_iter()
        .filter(|event| !event.occurrence_key().starts_with("report:"))
        .collect();
    assert!(!completed.is_empty(), "the completed task's skipped reminders are recorded");
    assert!(completed.iter().all(|event| matches!(event,
        ReminderEvent::ReminderSkipped(skipped) if skipped.reason == SkipReason::TaskCompleted)));
    // The extended task's reminders of the old deadline were skipped as deadline_changed, and none of it sent after.
    let extended = reminder_events(world.events.as_ref(), demo.task_ids[EXTENDED_TASK]).await;
    assert!(extended.iter().any(|event| matches!(event,
        ReminderEvent::ReminderSkipped(skipped) if skipped.reason == SkipReason::DeadlineChanged)));
    assert!(extended.iter().all(|event| match event {
        ReminderEvent::ReminderSent(sent) => sent.due_at < at(date(EXTENDED_ON), 0, 0),
        _ => true,
    }));
    // The new deadline's reminders are scheduled (after the simulated span).
    let new_due = Deadline::parse_code(EXTENDED_TO).unwrap().due_date();
    let occurrences = world.service().store.occurrences().await.unwrap();
    let new_key = format!("deadline:{}:{}:before-14", demo.task_ids[EXTENDED_TASK], format_date_iso(new_due));
    assert!(occurrences.iter().any(|(key, _)| key == &new_key), "{new_key} is scheduled");
    world.teardown().await;
}

/// Every occurrence the default rules give the demo plan over the simulated span, with whether it is escalated
/// (then also sent to the approver), computed from the calendar alone.
fn expected_occurrences(
    calendar: &HolidayCalendar,
    plan_id: Uuid,
    task_ids: &std::collections::HashMap<String, Uuid>,
) -> BTreeMap<String, bool> {
    let start = at(date(START), 7, 0);
    let end = at(date(END), 12, 0);
    let fixture = command_service::demo::fixture().unwrap();
    let mut expected = BTreeMap::new();
    for task in &fixture.tasks {
        let Some(code) = task.body["deadline"].as_str() else { continue };
        let task_id = task_ids[&task.key];
        let deadline = Deadline::parse_code(code).unwrap();
        let due = deadline.due_date();
        // After this, the task is no longer chased on this deadline.
        let stop: OffsetDateTime = match task.key.as_str() {
            COMPLETED_TASK => at(date(COMPLETED_ON), 0, 0),
            EXTENDED_TASK => at(date(EXTENDED_ON), 0, 0),
            _ => end,
        };
        let in_span = |instant: OffsetDateTime| instant >= start && instant <= end && instant < stop;
        for n_days in [14, 7, 3, 1] {
            let day = calendar.working_days_before(due, n_days);
            if in_span(at(day, 8, 0)) {
                expected.insert(format!("deadline:{task_id}:{}:before-{n_days}", format_date_iso(due)), false);
            }
        }
        let on_the_day = if calendar.is_working_day(due) { due } else { calendar.previous_working_day(due) };
        if in_span(at(on_the_day, 8, 0)) {
            expected.insert(format!("deadline:{task_id}:{}:on-the-day", format_date_iso(due)), false);
        }
        let first: Date = calendar.next_working_day(due);
        for step in 1..60_i64 {
            let mut day = first + time::Duration::days(7 * (step - 1));
            if !calendar.is_working_day(day) {
                day = calendar.next_working_day(day);
            }
            if !in_span(at(day, 8, 0)) {
                break;
            }
            expected.insert(format!("overdue:{task_id}:{}:{step}", format_date_iso(due)), step >= 2);
        }
    }
    let mut cut_offs: BTreeSet<Date> = BTreeSet::new();
    for kind in [PeriodKind::Quarter, PeriodKind::HalfYear, PeriodKind::Year] {
        cut_offs.extend(periods_of_year(kind, 2024).into_iter().map(|period| period.cut_off));
    }
    for cut_off in cut_offs {
        for n_days in [3, 1] {
            let day = calendar.working_days_before(cut_off, n_days);
            if at(day, 8, 0) >= start && at(day, 8, 0) <= end {
                // Task II.2 never has a report, so every cut-off's reminder goes out.
                expected
                    .insert(format!("report:{plan_id}:{}:SO-KHCN:before-{n_days}", format_date_iso(cut_off)), false);
            }
        }
    }
    expected
}
