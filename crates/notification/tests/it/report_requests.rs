//! Ad-hoc report requests (the seed's "báo cáo kết quả thực hiện đến 15/4/2024"): reminders before the due day to the
//! units whose tasks have no report for the cut-off yet, naming those tasks; none when the request is withdrawn.

use axum::http::Method;
use domain::actor::{Actor, Role};
use domain::reminder::{ReminderEvent, SkipReason};
use domain::unit_code::UnitCode;

use crate::support::{at, date, reminder_events, Receivers};
use crate::world::{Backend, World};

fn office() -> Actor {
    Actor {
        id: "vp.nguyenvanan".to_owned(),
        name: "Nguyễn Văn An".to_owned(),
        unit: UnitCode::parse("VP-UBND").unwrap(),
        role: Role::Planner,
    }
}

#[tokio::test]
async fn a_report_request_reminds_the_units_of_their_unreported_tasks_and_a_withdrawn_one_is_skipped() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.deadline]\nenabled = false\n[rules.overdue]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-04-01"), 7, 0), 1).await;
    let demo = world.load_demo().await;
    let plan_id = demo.plan_id;
    let (status, body) = world
        .command(
            &office(),
            Method::POST,
            &format!("/v1/plans/{plan_id}/report-requests"),
            serde_json::json!({"cut_off": "2024-04-15", "due_on": "2024-04-22",
                               "basis": ["Công văn số 1941/UBND-TH ngày 05/04/2024"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = world
        .command(
            &office(),
            Method::POST,
            &format!("/v1/plans/{plan_id}/report-requests"),
            serde_json::json!({"cut_off": "2024-05-15", "due_on": "2024-05-20", "basis": []}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let withdrawn_id = body["id"].as_str().unwrap().to_owned();
    world.step_to(at(date("2024-04-02"), 7, 0)).await;
    let (status, body) = world
        .command(
            &office(),
            Method::POST,
            &format!("/v1/plans/{plan_id}/report-requests/{withdrawn_id}/withdrawal"),
            serde_json::json!({"reason": "Gộp vào báo cáo quý II"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // 3 and 1 working days before 22/04/2024 (a Monday): 17/04 and 19/04.
    for day in ["2024-04-17", "2024-04-19", "2024-05-15", "2024-05-17"] {
        world.step_to(at(date(day), 8, 5)).await;
    }
    let webhooks = receivers.webhook.deliveries();
    let keys: Vec<String> =
        webhooks.iter().map(|delivery| delivery.event().unwrap().data.reminder.occurrence_key).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|key| key.contains(":2024-04-15:SO-KHCN:request-")), "{keys:?}");
    // Every task but II.2 was reported as of 15/04: the reminder names II.2 alone.
    let event = webhooks[0].event().unwrap();
    let numbers: Vec<&str> = event.data.reminder.tasks.iter().map(|task| task.number.as_str()).collect();
    assert_eq!(numbers, ["2"], "{:?}", event.data.reminder.tasks);
    assert!(event.data.message.body.contains("15/04/2024"), "{}", event.data.message.body);

    let unreported = demo.task_ids["II.2"];
    let recorded = reminder_events(world.events.as_ref(), unreported).await;
    assert!(recorded.iter().any(|event| matches!(event,
        ReminderEvent::ReminderSkipped(skip) if skip.reason == SkipReason::RequestWithdrawn)));
    assert!(recorded
        .iter()
        .any(|event| matches!(event, ReminderEvent::ReminderSent(sent) if sent.kind == "report_due")));
    world.teardown().await;
}

#[tokio::test]
async fn a_report_filed_just_before_the_reminder_falls_due_suppresses_it_though_the_service_has_not_seen_it() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.deadline]\nenabled = false\n[rules.overdue]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-04-01"), 7, 0), 1).await;
    let demo = world.load_demo().await;
    let plan_id = demo.plan_id;
    let (status, body) = world
        .command(
            &office(),
            Method::POST,
            &format!("/v1/plans/{plan_id}/report-requests"),
            serde_json::json!({"cut_off": "2024-04-15", "due_on": "2024-04-22", "basis": []}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    world.step_to(at(date("2024-04-16"), 7, 0)).await;

    // II.2, the one task without a report as of 15/04, gets one minutes before the first reminder (17/04, 3
    // working days before 22/04) falls due; the round runs before the service's consumer has read the report.
    let unreported = demo.task_ids["II.2"];
    world.report_progress(unreported, "2024-04-15").await;
    let round = world.dispatch_before_catching_up(at(date("2024-04-17"), 8, 5)).await;
    assert_eq!(round.n_skipped, round.n_claimed, "{round:?}");
    assert!(round.n_claimed > 0, "{round:?}");
    assert!(receivers.webhook.deliveries().is_empty());
    let recorded = reminder_events(world.events.as_ref(), unreported).await;
    assert!(
        recorded.iter().any(|event| matches!(event,
            ReminderEvent::ReminderSkipped(skip) if skip.reason == SkipReason::ReportFiled && skip.kind == "report_due")),
        "{recorded:?}"
    );
    assert!(!recorded.iter().any(|event| matches!(event, ReminderEvent::ReminderSent(_))), "{recorded:?}");
    world.teardown().await;
}

#[tokio::test]
async fn a_task_assigned_just_before_a_report_reminder_is_named_in_it_though_the_service_has_not_seen_it() {
    let receivers = Receivers::start().await;
    let config = receivers.config("[rules.deadline]\nenabled = false\n[rules.overdue]\nenabled = false");
    let world = World::start(Backend::Sqlite, config, at(date("2024-04-01"), 7, 0), 1).await;
    let (plan_id, tasks) = world.plan_with_tasks(&["2024-12-31"]).await;
    let (status, body) = world
        .command(
            &office(),
            Method::POST,
            &format!("/v1/plans/{plan_id}/report-requests"),
            serde_json::json!({"cut_off": "2024-04-15", "due_on": "2024-04-22", "basis": []}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    world.report_progress(tasks[0], "2024-04-15").await;
    world.step_to(at(date("2024-04-16"), 7, 0)).await;

    // A second task of the unit is assigned minutes before the first reminder (17/04, 3 working days before 22/04)
    // falls due; the round runs before the service's consumer has read the assignment.
    let task = serde_json::json!({
        "section": "I", "number": "2", "title": "Nhiệm vụ giao bổ sung", "deadline": "2024-12-31", "lead_unit": "SO-KHCN"
    });
    let (status, body) = world.command(&office(), Method::POST, &format!("/v1/plans/{plan_id}/tasks"), task).await;
    assert_eq!(status, 201, "task: {body}");
    let new_task = uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
    let round = world.dispatch_before_catching_up(at(date("2024-04-17"), 8, 5)).await;
    assert!(round.n_sent > 0, "{round:?}");
    let deliveries = receivers.webhook.deliveries();
    assert!(!deliveries.is_empty());
    for delivery in &deliveries {
        let event = delivery.event().expect("a webhook body is the published JSON");
        let named: Vec<uuid::Uuid> = event.data.reminder.tasks.iter().map(|task| task.task_id).collect();
        assert_eq!(named, vec![new_task], "only the new task has no report for the cut-off");
    }
    let recorded = reminder_events(world.events.as_ref(), new_task).await;
    assert!(
        recorded.iter().any(|event| matches!(event, ReminderEvent::ReminderSent(sent) if sent.kind == "report_due")),
        "{recorded:?}"
    );
    world.teardown().await;
}
