//! A task's latest report — the one the board shows, counts as progress and searches — while corrections move
//! cut-offs: the tasks model settles it in memory while it applies a batch, and reads every current version back
//! when a correction moves the latest report before another one. However the events are batched, live or in a
//! rebuild (whose session keeps task rows in memory across batches), the rows are the same.

use domain::task::TaskCommand;
use projection::db::ReadDb;
use projection::queries::BoardFilter;
use time::macros::date;
use time::Date;

use crate::support::{
    assert_same_models, board, rebuild_all, report_content, reporter, service, snapshot_active, text, NodeSpec,
    TestStores,
};

async fn the_latest_report_follows_corrections(stores: &TestStores, db: ReadDb) {
    let ledger = stores.ledger();
    let plan_id = ledger.create_plan("Kế hoạch năm 2024").await;
    let task_id = ledger.assign(plan_id, &NodeSpec::task("I", 1, Some("2024-12"), "SO-KHCN")).await.unwrap();
    let live = service(&db, &stores.store, 1).await;
    let on = date!(2024 - 12 - 31);
    let latest = |db: ReadDb| async move {
        let row = board(&db, plan_id, on).await.remove(&task_id.to_string()).expect("the task is on the board");
        (row.last_report_as_of, row.n_reports)
    };
    let correct = |report_id, as_of: Date, summary: &str| TaskCommand::CorrectReport {
        report_id,
        reason: text("Đính chính kỳ báo cáo"),
        content: report_content(as_of, summary),
    };

    ledger.report(task_id, "SO-KHCN", date!(2024 - 04 - 15), "Báo cáo kỳ tháng tư").await;
    let (may, _) = ledger.report(task_id, "SO-KHCN", date!(2024 - 05 - 15), "Báo cáo kỳ tháng năm").await;
    live.catch_up().await.unwrap();
    assert_eq!(latest(db.clone()).await, (Some("2024-05-15".to_owned()), 2));

    // The latest report moves before the other one, which becomes the latest.
    ledger
        .decide(task_id, correct(may, date!(2024 - 03 - 01), "Báo cáo kỳ tháng ba"), &reporter("SO-KHCN"))
        .await
        .unwrap();
    live.catch_up().await.unwrap();
    assert_eq!(latest(db.clone()).await, (Some("2024-04-15".to_owned()), 2));

    // Back after it, then a new report, a correction that keeps it the latest, and one of an older report that
    // does not reach it: several in one batch when the batches are larger.
    ledger
        .decide(task_id, correct(may, date!(2024 - 05 - 20), "Báo cáo kỳ tháng năm, bổ sung"), &reporter("SO-KHCN"))
        .await
        .unwrap();
    let (june, _) = ledger.report(task_id, "SO-KHCN", date!(2024 - 06 - 15), "Báo cáo kỳ tháng sáu").await;
    ledger
        .decide(task_id, correct(june, date!(2024 - 06 - 16), "Khảo sát xong 25/25 doanh nghiệp"), &reporter("SO-KHCN"))
        .await
        .unwrap();
    ledger
        .decide(task_id, correct(may, date!(2024 - 06 - 01), "Báo cáo kỳ tháng năm, lần ba"), &reporter("SO-KHCN"))
        .await
        .unwrap();
    live.catch_up().await.unwrap();
    assert_eq!(latest(db.clone()).await, (Some("2024-06-16".to_owned()), 3));
    let searched = BoardFilter { text: Some("khao sat xong".to_owned()), ..BoardFilter::default() };
    let found = projection::queries::board(&db, &plan_id.to_string(), &searched, on, 7).await.unwrap();
    assert_eq!(found.len(), 1, "the search text follows the latest report's corrected summary");

    let incremental = snapshot_active(&db).await;
    for batch_size in [1, 2, 3, 1_000] {
        rebuild_all(&db, stores.store.as_ref(), batch_size).await;
        assert_same_models(&snapshot_active(&db).await, &incremental, &format!("rebuild in batches of {batch_size}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_report_follows_corrections_on_sqlite() {
    let stores = TestStores::sqlite().await;
    let db = stores.sqlite_read_db("read").await;
    the_latest_report_follows_corrections(&stores, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_report_follows_corrections_on_postgres() {
    let stores = TestStores::postgres().await;
    let db = stores.postgres_read_db().await;
    the_latest_report_follows_corrections(&stores, db).await;
    stores.teardown().await;
}
