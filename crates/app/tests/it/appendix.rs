//! The appendix from the read models: the seed's rows as of 15/4/2024 on both setups, its formats, corrections
//! seen as known at an instant, and bad input.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, Setup, TestNode};

async fn the_demo_appendix_reproduces_the_seed(setup: Setup) {
    let node = TestNode::start(setup).await;
    let demo = command_service::demo::load(node.state()).await.expect("demo loads");
    let fixture = command_service::demo::fixture().unwrap();
    let head = node.state().ledger.store().head().await.unwrap().position;
    let auditor = node.token("auditor", "THANH-TRA");
    let uri = format!("/v1/plans/{}/appendix?as_of={}&min_position={head}", demo.plan_id, fixture.appendix.as_of);
    let (status, body) = node.get(&uri, &auditor).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), fixture.appendix.rows.len());
    for (row, expected) in rows.iter().zip(&fixture.appendix.rows) {
        for column in ["tt", "kind", "content", "target_text", "deadline_text", "result_text"] {
            assert_eq!(row[column], expected[column], "row {} column {column}", expected["tt"]);
        }
    }
    assert_eq!(body["as_of_text"], "15/04/2024");
    assert_eq!(rows[1]["progress"], "in_progress");
    assert_eq!(rows[1]["timeliness"]["code"], "on_time");

    let (status, csv) =
        node.get(&format!("/v1/plans/{}/appendix?as_of=2024-04-15&format=csv", demo.plan_id), &auditor).await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    assert!(csv.starts_with("\u{feff}TT,Nội dung nhiệm vụ,"), "{csv}");
    assert!(csv.contains("Kết quả đã thực hiện đến 15/04/2024"));
    assert!(csv.contains("\"Nhiệm vụ 1: Hỗ trợ 03 doanh nghiệp"));
    let (status, markdown) =
        node.get(&format!("/v1/plans/{}/appendix?as_of=2024-04-15&format=markdown", demo.plan_id), &auditor).await;
    assert_eq!(status, 200);
    assert!(markdown.as_str().unwrap().contains("| 2.1 | Chỉ tiêu 1: Tổ chức chuyển giao sản phẩm"));

    let (status, earlier) = node.get(&format!("/v1/plans/{}/appendix?as_of=2024-04-14", demo.plan_id), &auditor).await;
    assert_eq!(status, 200);
    assert!(
        earlier["rows"].as_array().unwrap().iter().all(|row| row["result_text"] == ""),
        "nothing reported before the cut-off"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_appendix_on_sqlite_and_the_in_process_bus() {
    the_demo_appendix_reproduces_the_seed(Setup::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_appendix_on_postgres_and_nats() {
    the_demo_appendix_reproduces_the_seed(Setup::Cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_shows_now_but_not_as_known_before_it() {
    let node = TestNode::start(Setup::Embedded).await;
    let plan_id = node.create_plan().await;
    let (task_id, _) = node
        .assign(&plan_id, crate::support::task_body("I", "1", "Khảo sát doanh nghiệp", Some("2024-11"), "SO-KHCN"))
        .await;
    let (status, report) = node.report(&task_id, "SO-KHCN", "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(status, 201);
    let report_id = report["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before_correction = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let correction =
        json!({"reason": "Nhầm số liệu", "as_of": "2024-04-15", "summary": "Đã khảo sát 24/25 doanh nghiệp"});
    let (status, corrected) = node
        .post(
            &format!("/v1/tasks/{task_id}/reports/{report_id}/corrections"),
            &node.token("reporter", "SO-KHCN"),
            &correction,
        )
        .await;
    assert_eq!(status, 201, "{corrected}");
    let position = corrected["position"].as_u64().unwrap();
    let auditor = node.token("auditor", "THANH-TRA");
    let now =
        node.get(&format!("/v1/plans/{plan_id}/appendix?as_of=2024-04-15&min_position={position}"), &auditor).await.1;
    assert_eq!(now["rows"][1]["result_text"], "Đã khảo sát 24/25 doanh nghiệp");
    let known_at =
        before_correction.format(&time::format_description::well_known::Rfc3339).unwrap().replace('+', "%2B");
    let then = node.get(&format!("/v1/plans/{plan_id}/appendix?as_of=2024-04-15&known_at={known_at}"), &auditor).await;
    assert_eq!(then.0, 200, "{}", then.1);
    assert_eq!(then.1["rows"][1]["result_text"], "Đã khảo sát 25/25 doanh nghiệp");
    let (status, _) = node.get(&format!("/v1/plans/{plan_id}/appendix?known_at=2000-01-01T00:00:00Z"), &auditor).await;
    assert_eq!(status, 404, "the plan did not exist yet");

    // known_at as a global position: just before the correction, and at it.
    let at = |known_at: u64| format!("/v1/plans/{plan_id}/appendix?as_of=2024-04-15&known_at={known_at}");
    let before = node.get(&at(position - 1), &auditor).await;
    assert_eq!(before.0, 200, "{}", before.1);
    assert_eq!(before.1["rows"][1]["result_text"], "Đã khảo sát 25/25 doanh nghiệp");
    let at_correction = node.get(&at(position), &auditor).await;
    assert_eq!(at_correction.1["rows"][1]["result_text"], "Đã khảo sát 24/25 doanh nghiệp");
    let (status, body) = node.get(&at(0), &auditor).await;
    assert_eq!(status, 404, "nothing is known at position 0: {body}");
    let (status, body) = node.get(&at(position + 1_000), &auditor).await;
    assert_eq!((status, &body["field"]), (422, &json!("known_at")), "{body}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_appendix_requests_are_clear_4xx() {
    let node = TestNode::start(Setup::Embedded).await;
    let plan_id = node.create_plan().await;
    let auditor = node.token("auditor", "THANH-TRA");
    let cases: [(String, u16, Option<&str>); 8] = [
        (format!("/v1/plans/{plan_id}/appendix?format=xlsx"), 422, Some("format")),
        (format!("/v1/plans/{plan_id}/appendix?as_of=2024-02-30"), 422, Some("as_of")),
        (format!("/v1/plans/{plan_id}/appendix?as_of=15/4/2024"), 422, Some("as_of")),
        (format!("/v1/plans/{plan_id}/appendix?as_of=9999-12-31"), 422, Some("as_of")),
        (format!("/v1/plans/{plan_id}/appendix?known_at=last-week"), 422, Some("known_at")),
        (format!("/v1/plans/{plan_id}/appendix?cut_off=2024-04-15"), 422, None),
        (format!("/v1/plans/{}/appendix", uuid::Uuid::now_v7()), 404, None),
        ("/v1/plans/not-a-plan/appendix".to_owned(), 422, Some("plan_id")),
    ];
    assert!(
        eventually(Duration::from_secs(5), || async {
            node.get("/v1/plans", &auditor).await.1.as_array().is_some_and(|plans| !plans.is_empty())
        })
        .await
    );
    for (uri, expected_status, field) in cases {
        let (status, body) = node.get(&uri, &auditor).await;
        assert_eq!(status, expected_status, "{uri}: {body}");
        assert!(body["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{uri}: {body}");
        if let Some(field) = field {
            assert_eq!(body["field"], Value::String(field.to_owned()), "{uri}");
        }
    }
    let (status, _) = node.get(&format!("/v1/plans/{plan_id}/appendix"), "").await;
    assert_eq!(status, 401);
    node.stop().await;
}
