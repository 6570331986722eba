//! A rebuild on PostgreSQL writes the tasks model's rows with `COPY` (`projection::bulk`), whose text format
//! escapes backslashes, tabs, newlines and carriage returns and spells NULL `\N`: texts full of them — Vietnamese,
//! quotes, a line that reads `\.` or `\N` — come out of the rebuild as the live projector wrote them with bound
//! `INSERT`s, byte for byte. A rebuild that stopped half-way leaves the active generation serving, and the next
//! rebuild starts over.

use domain::ids::ReportId;
use domain::status::ReportedProgress;
use domain::task::{ProgressReported, ReportContent, TaskCommand, TaskEvent};
use event_store::StreamId;
use projection::models::tasks::{TasksModel, NAME};
use projection::models::ReadModel;
use sqlx::Row;
use time::macros::date;
use uuid::Uuid;

use crate::support::{
    actor, assert_same_models, rebuild_all, report_content, reporter, service, snapshot_active, text, NodeSpec,
    TestStores,
};

/// Every character the `COPY` text format treats apart, among Vietnamese text and quotes.
const AWKWARD: &str = "Đã hoàn thành \"giai đoạn 1\" và 'giai đoạn 2'\\nkhông phải xuống dòng\nC:\\Báo cáo\\\n\\.\n\\N";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_through_copy_equals_the_incremental_model_byte_for_byte() {
    let stores = TestStores::postgres().await;
    let db = stores.postgres_read_db().await;
    let ledger = stores.ledger();
    let plan_id = ledger.create_plan("Kế hoạch \"chuyển đổi số\" năm 2024").await;
    let mut task = NodeSpec::task("I", 1, Some("2024-12"), "SO-KHCN");
    task.title = format!("Nhiệm vụ\tcó tab, {AWKWARD}");
    let task_id = ledger.assign(plan_id, &task).await.unwrap();
    // No deadline, no parent, no report: the NULLs of a task row.
    let bare = ledger.assign(plan_id, &NodeSpec::task("II", 1, None, "SO-TC")).await.unwrap();
    assert_ne!(task_id, bare);

    // A report with progress, one without (NULL), a correction with an awkward reason (the uncorrected versions'
    // reason is NULL), and a report written by someone whose name holds a tab.
    let content = ReportContent {
        progress: Some(ReportedProgress::InProgress),
        ..report_content(date!(2024 - 04 - 15), AWKWARD)
    };
    let report_id = ReportId(Uuid::now_v7());
    ledger.decide(task_id, TaskCommand::FileReport { report_id, content }, &reporter("SO-KHCN")).await.unwrap();
    ledger.report(task_id, "SO-KHCN", date!(2024 - 05 - 15), "Tháng năm: \\ và \\\\ và \r\n cuối dòng").await;
    let correction = TaskCommand::CorrectReport {
        report_id,
        reason: text(&format!("Đính chính: {AWKWARD}")),
        content: report_content(date!(2024 - 04 - 16), "Bản sửa: ‘ngoặc’ “kép” \\t không phải tab"),
    };
    ledger.decide(task_id, correction, &reporter("SO-KHCN")).await.unwrap();
    let mut tabbed = actor(domain::actor::Role::Reporter, "SO-KHCN");
    tabbed.name = "Nguyễn\tVăn \\A\\".to_owned();
    ledger
        .decide(
            task_id,
            TaskCommand::FileReport {
                report_id: ReportId(Uuid::now_v7()),
                content: report_content(date!(2024 - 06 - 15), "Báo cáo của người có tab trong tên"),
            },
            &tabbed,
        )
        .await
        .unwrap();
    // A summary that only a stored payload can carry: the domain turns tabs into spaces, the model reads the
    // stored text as it is.
    let raw_summary = format!("Cột 1\tCột 2\t\r\nDòng\\cuối {AWKWARD}");
    let raw = TaskEvent::ProgressReported(ProgressReported {
        report_id: ReportId(Uuid::now_v7()),
        content: report_content(date!(2024 - 07 - 15), "thay bên dưới"),
    });
    let mut payload = serde_json::to_value(&raw).unwrap()["payload"].take();
    payload["summary"] = serde_json::Value::String(raw_summary.clone());
    ledger.append_raw(StreamId(task_id.stream_name()), "ProgressReported", payload, &reporter("SO-KHCN")).await;

    let live = service(&db, &stores.store, 2).await;
    live.catch_up().await.unwrap();
    let incremental = snapshot_active(&db).await;
    let (active, _) = db.active(NAME).await.unwrap().unwrap();

    // A rebuild that stopped half-way: the next generation's tables exist and hold rows; nothing reads them.
    let model = TasksModel;
    for statement in model.create_tables(active + 1) {
        sqlx::query(&statement).execute(db.pool()).await.unwrap();
    }
    let reports = projection::db::table("reports", active + 1);
    sqlx::query(&format!(
        "INSERT INTO {reports} (report_id, version_no, task_id, plan_id, as_of, summary, recorded_at, position, \
         filed_position, actor_id, actor_name, actor_unit) VALUES ('stray', 1, 't', 'p', '2024-01-01', 'stray', \
         'x', 1, 1, 'a', 'a', 'a')"
    ))
    .execute(db.pool())
    .await
    .unwrap();
    assert_eq!(db.active(NAME).await.unwrap().unwrap().0, active, "the old generation still serves");
    assert_same_models(&snapshot_active(&db).await, &incremental, "while a rebuild lies half-done");

    for batch_size in [1, 3, 1_000] {
        let rebuilt = rebuild_all(&db, stores.store.as_ref(), batch_size).await;
        assert!(rebuilt.iter().all(|report| report.n_parked == 0), "nothing parked: {rebuilt:?}");
        assert_same_models(
            &snapshot_active(&db).await,
            &incremental,
            &format!("rebuild through COPY in batches of {batch_size}"),
        );
    }

    // Equal to the live model, and equal to what was written.
    let generation = db.generation(NAME).await.unwrap();
    let reports = projection::db::table("reports", generation);
    let summaries: Vec<String> = sqlx::query(&format!("SELECT summary FROM {reports} ORDER BY position"))
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get(0).unwrap())
        .collect();
    assert_eq!(summaries.first().map(String::as_str), Some(AWKWARD));
    assert_eq!(summaries.last(), Some(&raw_summary));
    let names: Vec<String> = sqlx::query(&format!("SELECT DISTINCT actor_name FROM {reports} ORDER BY 1"))
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get(0).unwrap())
        .collect();
    assert!(names.contains(&"Nguyễn\tVăn \\A\\".to_owned()), "{names:?}");
    let nulls =
        sqlx::query(&format!("SELECT count(*) FROM {reports} WHERE progress IS NULL AND correction_reason IS NULL"))
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(nulls.try_get::<i64, _>(0).unwrap() >= 3, "NULLs stay NULL, not the text \\N");
    let stray = sqlx::query(&format!("SELECT count(*) FROM {reports} WHERE report_id = 'stray'"))
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stray.try_get::<i64, _>(0).unwrap(), 0, "the half-done generation was started over");
    let tasks = projection::db::table("tasks", generation);
    let title: String = sqlx::query(&format!("SELECT title FROM {tasks} WHERE task_id = $1"))
        .bind(task_id.to_string())
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(title, task.title);
    stores.teardown().await;
}
