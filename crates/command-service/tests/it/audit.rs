//! The audit features: an issued report that still verifies after a later correction, bitemporal reads with
//! positions, diffs of a task and of an appendix, the audit search with auditors' reads recorded, exports, and
//! freezing a plan. On the demo plan, over a real SQLite file and a fresh PostgreSQL database.

use axum::http::{Method, StatusCode};
use domain::actor::Role;
use serde_json::{json, Value};

use crate::support::{postgres_app, sqlite_app, TestApp};

fn approver(app: &TestApp) -> String {
    app.token(Role::Approver, "VP-UBND")
}

fn auditor(app: &TestApp) -> String {
    app.token(Role::Auditor, "TTR-TINH")
}

/// Issues "Số 74/BC-KHCN" as of 15/4/2024, corrects a report after it, and checks what an auditor sees.
async fn an_issued_report_survives_a_later_correction(app: TestApp) {
    let demo = command_service::demo::load(&app.state).await.expect("demo loads");
    let plan_id = demo.plan_id;
    let task_id = demo.task_ids["I.1"];

    let issued = app
        .request(
            Method::POST,
            &format!("/v1/plans/{plan_id}/issued-reports"),
            Some(&approver(&app)),
            Some(json!({
                "number": "Số 74/BC-KHCN",
                "cut_off": "2024-04-15",
                "signer": "Giám đốc Sở KH&CN",
                "issued_on": "2024-04-16"
            })),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    let issued_id = issued.body["id"].as_str().unwrap().to_owned();
    let issue_position = issued.body["position"].as_u64().unwrap();

    let before = app.request(Method::GET, &format!("/v1/tasks/{task_id}"), Some(&app.reporter()), None).await;
    let report_id = before.body["task"]["reports"][0]["report_id"].as_str().unwrap().to_owned();
    let issued_summary = before.body["task"]["reports"][0]["current"]["summary"].as_str().unwrap().to_owned();

    let corrected_summary = "Đã hỗ trợ 03 doanh nghiệp; 01 doanh nghiệp đã được cấp chứng nhận";
    let correction = app
        .request(
            Method::POST,
            &format!("/v1/tasks/{task_id}/reports/{report_id}/corrections"),
            Some(&app.reporter()),
            Some(json!({
                "reason": "Bổ sung kết quả cấp chứng nhận bị sót",
                "as_of": "2024-04-15",
                "summary": corrected_summary
            })),
        )
        .await;
    assert_eq!(correction.status, StatusCode::CREATED, "{:?}", correction.body);
    let correction_position = correction.body["position"].as_u64().unwrap();

    // As of 15/4/2024 known at the issue: unchanged. Known now: the correction.
    let then = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}?as_of=2024-04-15&known_at={issue_position}"),
            Some(&auditor(&app)),
            None,
        )
        .await;
    assert_eq!(then.status, StatusCode::OK, "{:?}", then.body);
    assert_eq!(then.body["task"]["reports"][0]["current"]["summary"], issued_summary.as_str());
    let now =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}?as_of=2024-04-15"), Some(&auditor(&app)), None).await;
    assert_eq!(now.body["task"]["reports"][0]["current"]["summary"], corrected_summary);

    // The issued report still verifies; today's appendix differs exactly by the correction.
    let verification = app
        .request(
            Method::GET,
            &format!("/v1/plans/{plan_id}/issued-reports/{issued_id}/verification"),
            Some(&auditor(&app)),
            None,
        )
        .await;
    assert_eq!(verification.status, StatusCode::OK, "{:?}", verification.body);
    assert_eq!(verification.body["verified"], true, "{:?}", verification.body);
    assert_eq!(verification.body["number"], "Số 74/BC-KHCN");
    assert_eq!(verification.body["recorded_sha256"], verification.body["recomputed_sha256"]);
    assert_ne!(verification.body["current_sha256"], verification.body["recorded_sha256"]);
    let changed = verification.body["changed_since_issue"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["tt"], "1");
    assert_eq!(changed[0]["columns"][0]["column"], "result_text");
    assert_eq!(changed[0]["columns"][0]["from"], issued_summary.as_str());
    assert_eq!(changed[0]["columns"][0]["to"], corrected_summary);
    assert_eq!(changed[0]["events"][0]["reason"], "Bổ sung kết quả cấp chứng nhận bị sót");

    // The task diff names who corrected it, when and why, and the version it replaced.
    let diff = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}/diff?from={issue_position}&to={correction_position}&as_of=2024-04-15"),
            Some(&auditor(&app)),
            None,
        )
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{:?}", diff.body);
    assert_eq!(diff.body["axis"], "known");
    let field = format!("reports[{report_id}].current.summary");
    let change = diff.body["changes"].as_array().unwrap().iter().find(|change| change["field"] == field.as_str());
    let change = change.unwrap_or_else(|| panic!("no change of {field}: {:?}", diff.body));
    assert_eq!(change["from"], issued_summary.as_str());
    assert_eq!(change["to"], corrected_summary);
    assert_eq!(change["changed_by"], json!([correction_position]));
    let event = &diff.body["events"][0];
    assert_eq!(event["event_type"], "ReportCorrected");
    assert_eq!(event["actor"]["name"], "Cán bộ SO-KHCN");
    assert_eq!(event["actor"]["role"], "reporter");
    assert_eq!(event["reason"], "Bổ sung kết quả cấp chứng nhận bị sót");
    assert_eq!(event["corrects"]["summary"], issued_summary.as_str());
    assert!(event["recorded_at"].as_str().unwrap().ends_with("+07:00"));

    // The appendix diff between the issue and now, row by row.
    let appendix_diff = app
        .request(
            Method::GET,
            &format!(
                "/v1/plans/{plan_id}/appendix/diff?as_of=2024-04-15&from={issue_position}&to={correction_position}"
            ),
            Some(&app.reporter()),
            None,
        )
        .await;
    assert_eq!(appendix_diff.status, StatusCode::OK, "{:?}", appendix_diff.body);
    assert_eq!(appendix_diff.body["from_sha256"], verification.body["recorded_sha256"]);
    let rows = appendix_diff.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["events"][0]["actor"]["id"], "reporter.so-khcn");

    // History shows the correction next to what it corrects, with reason and documents as fields.
    let history = app.request(Method::GET, &format!("/v1/tasks/{task_id}/history"), Some(&auditor(&app)), None).await;
    let entries = history.body.as_array().unwrap();
    let corrected = entries.iter().find(|entry| entry["event_type"] == "ReportCorrected").unwrap();
    assert_eq!(corrected["report_id"], report_id.as_str());
    assert_eq!(corrected["corrects"]["summary"], issued_summary.as_str());
    let filed = entries.iter().find(|entry| entry["event_type"] == "ProgressReported").unwrap();
    assert_eq!(corrected["corrects"]["position"], filed["position"]);

    // Every read above made by the auditor is in the access log, and the search finds it.
    let search = app
        .request(
            Method::GET,
            &format!("/v1/audit/events?plan_id={plan_id}&event_type=RecordsRead"),
            Some(&auditor(&app)),
            None,
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{:?}", search.body);
    let reads = search.body["events"].as_array().unwrap();
    let resources: Vec<&str> = reads.iter().map(|read| read["payload"]["resource"].as_str().unwrap()).collect();
    assert!(resources.contains(&format!("/v1/tasks/{task_id}/history").as_str()), "{resources:?}");
    assert!(resources.contains(&format!("/v1/tasks/{task_id}/diff").as_str()), "{resources:?}");
    assert!(reads.iter().all(|read| read["actor"]["role"] == "auditor"));
    // A reporter's read is not logged.
    assert!(!resources.contains(&format!("/v1/plans/{plan_id}/appendix/diff").as_str()), "{resources:?}");
    app.teardown().await;
}

#[tokio::test]
async fn an_issued_report_survives_a_later_correction_on_sqlite() {
    an_issued_report_survives_a_later_correction(sqlite_app().await).await;
}

#[tokio::test]
async fn an_issued_report_survives_a_later_correction_on_postgres() {
    an_issued_report_survives_a_later_correction(postgres_app().await).await;
}

/// Commands are refused while the plan is frozen and accepted after it is unfrozen; reads still work.
async fn a_frozen_plan_refuses_commands(app: TestApp) {
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let freeze = json!({
        "reason": "Thanh tra việc thực hiện nhiệm vụ năm 2024",
        "basis": ["QĐ số 12/QĐ-TTr ngày 02/05/2024"]
    });
    for token in [app.reporter(), app.planner()] {
        let refused =
            app.request(Method::POST, &format!("/v1/plans/{plan_id}/freeze"), Some(&token), Some(freeze.clone())).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    }
    let frozen =
        app.request(Method::POST, &format!("/v1/plans/{plan_id}/freeze"), Some(&approver(&app)), Some(freeze)).await;
    assert_eq!(frozen.status, StatusCode::CREATED, "{:?}", frozen.body);

    let head = app.head_position().await;
    let report = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(report.status, StatusCode::CONFLICT, "{:?}", report.body);
    let detail = report.body["detail"].as_str().unwrap();
    assert!(detail.contains("frozen") && detail.contains("Thanh tra việc thực hiện nhiệm vụ năm 2024"), "{detail}");
    assert!(detail.contains("QĐ số 12/QĐ-TTr"), "{detail}");
    let assign = app
        .request(
            Method::POST,
            &format!("/v1/plans/{plan_id}/tasks"),
            Some(&app.planner()),
            Some(crate::support::task_body("2")),
        )
        .await;
    assert_eq!(assign.status, StatusCode::CONFLICT, "{:?}", assign.body);
    assert_eq!(app.head_position().await, head, "nothing was appended while frozen");

    let task = app.request(Method::GET, &format!("/v1/tasks/{task_id}"), Some(&app.reporter()), None).await;
    assert_eq!(task.status, StatusCode::OK);
    let plan = app.request(Method::GET, &format!("/v1/plans/{plan_id}"), Some(&app.reporter()), None).await;
    assert_eq!(plan.body["freeze"]["reason"], "Thanh tra việc thực hiện nhiệm vụ năm 2024");

    let unfreeze = json!({"reason": "Kết thúc thanh tra"});
    let refused = app
        .request(Method::POST, &format!("/v1/plans/{plan_id}/unfreeze"), Some(&app.reporter()), Some(unfreeze.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unfrozen = app
        .request(Method::POST, &format!("/v1/plans/{plan_id}/unfreeze"), Some(&approver(&app)), Some(unfreeze))
        .await;
    assert_eq!(unfrozen.status, StatusCode::CREATED, "{:?}", unfrozen.body);
    let report = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(report.status, StatusCode::CREATED, "{:?}", report.body);
    app.teardown().await;
}

#[tokio::test]
async fn a_frozen_plan_refuses_commands_on_sqlite() {
    a_frozen_plan_refuses_commands(sqlite_app().await).await;
}

#[tokio::test]
async fn a_frozen_plan_refuses_commands_on_postgres() {
    a_frozen_plan_refuses_commands(postgres_app().await).await;
}

/// A process that knows the plan from before a freeze recorded by another process still refuses the task's
/// commands (its append expects the plan as it knew it), and a plan that moved otherwise (a task assigned by the
/// other process) does not refuse them.
async fn a_freeze_by_another_process_refuses_commands(app: TestApp) {
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let other = app.other_process();
    let first = app.file_report(&task_id, "2024-03-15", "Đã khảo sát 10/25 doanh nghiệp").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);

    let assigned = other
        .request(
            Method::POST,
            &format!("/v1/plans/{plan_id}/tasks"),
            Some(&other.planner()),
            Some(crate::support::task_body("2")),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{:?}", assigned.body);
    let second = app.file_report(&task_id, "2024-03-31", "Đã khảo sát 15/25 doanh nghiệp").await;
    assert_eq!(second.status, StatusCode::CREATED, "a plan that moved without a freeze: {:?}", second.body);

    let freeze = json!({
        "reason": "Thanh tra việc thực hiện nhiệm vụ năm 2024",
        "basis": ["QĐ số 12/QĐ-TTr ngày 02/05/2024"]
    });
    let frozen = other
        .request(Method::POST, &format!("/v1/plans/{plan_id}/freeze"), Some(&approver(&other)), Some(freeze))
        .await;
    assert_eq!(frozen.status, StatusCode::CREATED, "{:?}", frozen.body);
    let head = app.head_position().await;
    let refused = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("frozen"), "{:?}", refused.body);
    assert_eq!(app.head_position().await, head, "nothing was appended while frozen");

    let unfreeze = json!({"reason": "Kết thúc thanh tra"});
    let unfrozen = other
        .request(Method::POST, &format!("/v1/plans/{plan_id}/unfreeze"), Some(&approver(&other)), Some(unfreeze))
        .await;
    assert_eq!(unfrozen.status, StatusCode::CREATED, "{:?}", unfrozen.body);
    let accepted = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{:?}", accepted.body);
    app.teardown().await;
}

#[tokio::test]
async fn a_freeze_by_another_process_refuses_commands_on_sqlite() {
    a_freeze_by_another_process_refuses_commands(sqlite_app().await).await;
}

#[tokio::test]
async fn a_freeze_by_another_process_refuses_commands_on_postgres() {
    a_freeze_by_another_process_refuses_commands(postgres_app().await).await;
}

#[tokio::test]
async fn bad_points_in_time_get_a_clear_error_and_change_nothing() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25").await;
    let head = app.head_position().await;
    let token = app.reporter();
    let cases: Vec<(String, StatusCode, Option<&str>)> = vec![
        (format!("/v1/plans/{plan_id}?known_at=0"), StatusCode::NOT_FOUND, None),
        (format!("/v1/tasks/{task_id}?known_at=2000-01-01T00%3A00%3A00Z"), StatusCode::NOT_FOUND, None),
        (format!("/v1/plans/{plan_id}/appendix/diff?from=0&to=0"), StatusCode::NOT_FOUND, None),
        (format!("/v1/tasks/{task_id}?as_of=9999-12-31"), StatusCode::UNPROCESSABLE_ENTITY, Some("as_of")),
        (format!("/v1/tasks/{task_id}?known_at={}", head + 1), StatusCode::UNPROCESSABLE_ENTITY, Some("known_at")),
        (format!("/v1/tasks/{task_id}?known_at=yesterday"), StatusCode::UNPROCESSABLE_ENTITY, Some("known_at")),
        (format!("/v1/tasks/{task_id}/diff?from=soon&to=3"), StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        (format!("/v1/tasks/{task_id}/diff?from=2024-04-01&to=3"), StatusCode::UNPROCESSABLE_ENTITY, Some("to")),
        (format!("/v1/tasks/{task_id}/diff?from=3&to=2"), StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        (format!("/v1/tasks/{task_id}/diff?to=2"), StatusCode::UNPROCESSABLE_ENTITY, Some("from")),
        (format!("/v1/tasks/{task_id}/diff?from=1&to=2&axis=sideways"), StatusCode::UNPROCESSABLE_ENTITY, Some("axis")),
        (format!("/v1/tasks/{task_id}/history?format=xml"), StatusCode::UNPROCESSABLE_ENTITY, Some("format")),
        (format!("/v1/plans/{plan_id}/history?format=pdf"), StatusCode::UNPROCESSABLE_ENTITY, Some("format")),
        ("/v1/audit/events?format=xlsx".to_owned(), StatusCode::FORBIDDEN, None),
    ];
    for (uri, status, field) in cases {
        let answer = app.request(Method::GET, &uri, Some(&token), None).await;
        assert_eq!(answer.status, status, "{uri}: {:?}", answer.body);
        if let Some(field) = field {
            assert_eq!(answer.body["field"], field, "{uri}: {:?}", answer.body);
        }
        assert!(answer.body["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{uri}");
    }
    let searched = app.request(Method::GET, "/v1/audit/events?format=xlsx", Some(&approver(&app)), None).await;
    assert_eq!(searched.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(searched.body["field"], "format");
    assert_eq!(app.head_position().await, head, "bad reads append nothing");
}

#[tokio::test]
async fn the_audit_search_filters_and_pages_by_position() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    for day in ["2024-04-15", "2024-05-15", "2024-06-15"] {
        let answer = app.file_report(&task_id, day, "Đang thực hiện").await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let token = auditor(&app);
    let first = app
        .request(Method::GET, "/v1/audit/events?unit=SO-KHCN&event_type=ProgressReported&limit=2", Some(&token), None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let after = first.body["next_after"].as_u64().unwrap();
    let second = app
        .request(
            Method::GET,
            &format!("/v1/audit/events?unit=SO-KHCN&event_type=ProgressReported&limit=2&after={after}"),
            Some(&token),
            None,
        )
        .await;
    let events: Vec<&Value> = second.body["events"].as_array().unwrap().iter().collect();
    assert_eq!(events.len(), 1, "{:?}", second.body);
    assert_eq!(events[0]["effective_date"], "2024-06-15");

    let by_task = app
        .request(Method::GET, &format!("/v1/audit/events?task_id={task_id}&actor=planner.vp-ubnd"), Some(&token), None)
        .await;
    let events = by_task.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{:?}", by_task.body);
    assert_eq!(events[0]["event_type"], "TaskAssigned");

    let csv = app.request(Method::GET, &format!("/v1/plans/{plan_id}/history?format=csv"), Some(&token), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let text = csv.body.as_str().unwrap();
    assert!(text.starts_with("position,recorded_at,stream_id"), "{text}");
    assert_eq!(text.lines().count(), 1 + 6, "header, the plan's 2 events, the task's 4: {text}");

    // The searches and the export are themselves in the log, and found by the search.
    let reads = app.request(Method::GET, "/v1/audit/events?event_type=RecordsRead", Some(&token), None).await;
    let reads = reads.body["events"].as_array().unwrap();
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert_eq!(reads[3]["payload"]["resource"], format!("/v1/plans/{plan_id}/history"));
    assert_eq!(reads[3]["payload"]["query"], "format=csv");
    assert_eq!(reads[0]["stream_id"], "access-00000000-0000-0000-0000-000000000000");
}

#[tokio::test]
async fn a_diff_along_the_business_dates_names_the_reports_in_between() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    let march = app.file_report(&task_id, "2024-03-15", "Đã khảo sát 10/25 doanh nghiệp").await;
    let april = app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25 doanh nghiệp").await;
    let april_id = april.body["id"].as_str().unwrap().to_owned();
    let token = app.reporter();

    let diff = app
        .request(Method::GET, &format!("/v1/tasks/{task_id}/diff?from=2024-03-31&to=2024-04-30"), Some(&token), None)
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{:?}", diff.body);
    assert_eq!(diff.body["axis"], "as_of");
    let events = diff.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "only April's report is dated in between: {events:?}");
    assert_eq!(events[0]["position"], april.body["position"]);
    assert_eq!(events[0]["report_id"], april_id.as_str());
    let summary = format!("reports[{april_id}].current.summary");
    let change = diff.body["changes"].as_array().unwrap().iter().find(|change| change["field"] == summary.as_str());
    let change = change.unwrap_or_else(|| panic!("{summary} not in {:?}", diff.body));
    assert_eq!(change["from"], Value::Null);
    assert_eq!(change["to"], "Đã khảo sát 25/25 doanh nghiệp");

    // The same two dates as known before April's report was recorded: nothing in between.
    let known_before = march.body["position"].as_u64().unwrap();
    let earlier = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}/diff?from=2024-03-31&to=2024-04-30&known_at={known_before}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(earlier.status, StatusCode::OK, "{:?}", earlier.body);
    assert_eq!(earlier.body["changes"], json!([]));

    // An explicit axis that the values do not fit, and a fixed axis given twice, are refused.
    let wrong = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}/diff?from=2024-03-31&to=2024-04-30&axis=known"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((wrong.status, &wrong.body["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("from")));
    let twice = app
        .request(
            Method::GET,
            &format!("/v1/tasks/{task_id}/diff?from=2024-03-31&to=2024-04-30&as_of=2024-04-30"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((twice.status, &twice.body["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("as_of")));
}
