//! The task board: filters, a search that ignores diacritics, statistics, and reading one's own writes.

use serde_json::{json, Value};

use crate::support::{task_body, Setup, TestNode};

async fn board(node: &TestNode, plan_id: &str, query: &str) -> Vec<Value> {
    let (status, body) =
        node.get(&format!("/v1/plans/{plan_id}/tasks?{query}"), &node.token("auditor", "THANH-TRA")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body.as_array().unwrap().clone()
}

fn numbers(tasks: &[Value]) -> Vec<String> {
    tasks
        .iter()
        .map(|task| format!("{}.{}", task["section"].as_str().unwrap(), task["number"].as_str().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_filters_searches_and_counts() {
    let node = TestNode::start(Setup::Embedded).await;
    let plan_id = node.create_plan().await;
    let (survey, _) =
        node.assign(&plan_id, task_body("I", "1", "Khảo sát doanh nghiệp đo lường", Some("2024-06"), "SO-KHCN")).await;
    let (parent, _) = node.assign(&plan_id, task_body("I", "2", "Ứng dụng kết quả nhiệm vụ", None, "SO-KHCN")).await;
    let mut indicator = task_body("I", "2.1", "Hoà giải và đào tạo", Some("2024-12-31"), "SO-KHCN");
    indicator["parent_id"] = json!(parent);
    node.assign(&plan_id, indicator).await;
    let (_, last) =
        node.assign(&plan_id, task_body("II", "1", "Thanh tra đo lường", Some("2024-Q4"), "THANH-TRA-SO")).await;
    let (status, _) = node.report(&survey, "SO-KHCN", "2024-04-15", "Đã khảo sát 25/25").await;
    assert_eq!(status, 201);
    let completion = json!({"as_of": "2024-05-20", "summary": "Hoàn thành khảo sát"});
    let (status, done) =
        node.post(&format!("/v1/tasks/{survey}/completion"), &node.token("reporter", "SO-KHCN"), &completion).await;
    assert_eq!(status, 201, "{done}");
    let (status, confirmed) = node
        .post(&format!("/v1/tasks/{survey}/completion/confirmation"), &node.token("approver", "VP-UBND"), &json!({}))
        .await;
    assert_eq!(status, 201, "{confirmed}");
    let position = confirmed["position"].as_u64().unwrap().max(last);

    // Read-your-writes: the position the command answered.
    let all = board(&node, &plan_id, &format!("min_position={position}&on=2024-07-01")).await;
    assert_eq!(numbers(&all), ["I.1", "I.2", "I.2.1", "II.1"]);
    assert_eq!(all[0]["progress"], "done");
    assert_eq!(all[0]["timeliness"]["code"], "done_on_time");
    assert_eq!(all[1]["deadline_text"], "", "a task whose indicators carry the deadlines");
    assert_eq!(all[2]["deadline_text"], "31/12/2024");
    assert_eq!(all[3]["deadline_text"], "Quý IV/2024");

    assert_eq!(numbers(&board(&node, &plan_id, "section=II").await), ["II.1"]);
    assert_eq!(numbers(&board(&node, &plan_id, "lead_unit=thanh-tra-so").await), ["II.1"]);
    assert_eq!(numbers(&board(&node, &plan_id, "progress=done").await), ["I.1"]);
    assert_eq!(numbers(&board(&node, &plan_id, "timeliness=overdue&on=2025-01-15").await), ["I.2.1", "II.1"]);
    assert_eq!(numbers(&board(&node, &plan_id, "timeliness=due_soon&on=2024-12-28").await), ["I.2.1", "II.1"]);
    assert_eq!(
        numbers(&board(&node, &plan_id, "deadline_from=2024-07-01&deadline_to=2024-12-31").await),
        ["I.2.1", "II.1"]
    );
    assert_eq!(numbers(&board(&node, &plan_id, "q=khao%20sat").await), ["I.1"], "diacritics are ignored");
    assert_eq!(numbers(&board(&node, &plan_id, "q=KHẢO%20SÁT").await), ["I.1"]);
    assert_eq!(numbers(&board(&node, &plan_id, "q=do%20luong").await), ["I.1", "II.1"], "đ folds to d");
    assert_eq!(numbers(&board(&node, &plan_id, "q=ho%C3%A0%20gi%E1%BA%A3i").await), ["I.2.1"], "hoà");
    assert_eq!(numbers(&board(&node, &plan_id, "q=h%C3%B2a%20gi%E1%BA%A3i").await), ["I.2.1"], "hòa finds hoà");
    assert_eq!(numbers(&board(&node, &plan_id, "q=25%2F25").await), ["I.1"], "the latest report is searched too");

    let (status, problem) =
        node.get(&format!("/v1/plans/{plan_id}/tasks?timeliness=late"), &node.token("auditor", "X")).await;
    assert_eq!(status, 422);
    assert_eq!(problem["field"], "timeliness");

    let (status, statistics) =
        node.get(&format!("/v1/plans/{plan_id}/statistics?on=2025-01-15"), &node.token("auditor", "X")).await;
    assert_eq!(status, 200, "{statistics}");
    assert_eq!(statistics["n_nodes"], 4);
    assert_eq!(statistics["by_timeliness"]["overdue"], 2);
    assert_eq!(statistics["by_timeliness"]["done_on_time"], 1);
    assert_eq!(statistics["on_time_completion_rate"], 1.0);
    let units: Vec<&str> =
        statistics["units"].as_array().unwrap().iter().map(|unit| unit["unit"].as_str().unwrap()).collect();
    assert_eq!(units, ["SO-KHCN", "THANH-TRA-SO"]);
    let (status, per_unit) =
        node.get(&format!("/v1/statistics/units?plan_id={plan_id}&on=2025-01-15"), &node.token("auditor", "X")).await;
    assert_eq!(status, 200);
    assert_eq!(per_unit[1]["by_timeliness"]["overdue"], 1);
    node.stop().await;
}
