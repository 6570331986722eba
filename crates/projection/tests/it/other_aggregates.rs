//! Events the read models do not use: a plan's report requests (plan stream) and a task's reminder log (its
//! `reminders-<task_id>` stream, recorded by the system actor). The models skip them, park nothing, move their
//! checkpoints past them, and a rebuild ends with the same rows.

use domain::actor::Actor;
use domain::ids::ReportRequestId;
use domain::plan::{PlanEvent, ReportRequested};
use domain::reminder::{reminder_stream_id, ReminderEvent, ReminderSkipped, SkipReason};
use event_store::StreamId;
use time::macros::{date, datetime};
use uuid::Uuid;

use crate::support::{
    assert_same_models, board, planner, projector, rebuild_all, service, snapshot_active, NodeSpec, TestStores,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_requests_and_reminder_logs_are_skipped_by_the_read_models() {
    let stores = TestStores::sqlite().await;
    let db = stores.sqlite_read_db("read").await;
    let ledger = stores.ledger();
    let plan_id = ledger.create_plan("Kế hoạch A").await;
    let task_id = ledger.assign(plan_id, &NodeSpec::task("I", 1, Some("2024-06"), "SO-KHCN")).await.unwrap();
    ledger.report(task_id, "SO-KHCN", date!(2024 - 04 - 15), "Đã khảo sát 10/25 doanh nghiệp").await;

    let requested = PlanEvent::ReportRequested(ReportRequested {
        request_id: ReportRequestId(Uuid::now_v7()),
        cut_off: date!(2024 - 04 - 15),
        due_on: date!(2024 - 04 - 18),
        units: Vec::new(),
        basis: Vec::new(),
        note: String::new(),
    });
    let tagged = serde_json::to_value(&requested).unwrap();
    ledger
        .append_raw(StreamId(plan_id.stream_name()), requested.event_type(), tagged["payload"].clone(), &planner())
        .await;
    let skipped = ReminderEvent::ReminderSkipped(ReminderSkipped {
        occurrence_key: format!("report:{task_id}:2024-04-15"),
        rule: "report-due-3-days".to_owned(),
        kind: "report_due".to_owned(),
        recipient: Some("SO-KHCN".to_owned()),
        reason: SkipReason::ReportFiled,
        detail: String::new(),
        due_at: datetime!(2024-04-12 08:00 +07:00),
    });
    let tagged = serde_json::to_value(&skipped).unwrap();
    let last = ledger
        .append_raw(
            StreamId(reminder_stream_id(task_id)),
            skipped.event_type(),
            tagged["payload"].clone(),
            &Actor::notification_service(),
        )
        .await;

    let service = service(&db, &stores.store, 2).await;
    service.catch_up().await.expect("catch up");
    for name in ["plans", "tasks"] {
        let model = projector(&service, name);
        assert!(model.parked().await.unwrap().is_empty(), "{name} parks nothing");
        assert_eq!(model.stored_checkpoint().await.unwrap(), last.last_position, "{name} moves past them");
    }
    let plans = projection::queries::list_plans(&db).await.unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].n_nodes, 1);
    let row = &board(&db, plan_id, date!(2024 - 05 - 01)).await[&task_id.to_string()];
    assert_eq!(row.n_reports, 1);

    let incremental = snapshot_active(&db).await;
    for report in rebuild_all(&db, stores.store.as_ref(), 2).await {
        assert_eq!(report.n_parked, 0, "rebuild of {}", report.model);
    }
    assert_same_models(&snapshot_active(&db).await, &incremental, "rebuild over report requests and reminders");
    stores.teardown().await;
}
