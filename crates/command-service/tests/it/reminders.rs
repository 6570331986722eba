//! Report requests over HTTP (who may, defaults, validation naming the field, withdrawal, idempotency, If-Match,
//! the OpenAPI document) and a task's reminder log in its history, its exports and the audit search, with the
//! reminder events appended straight to the store by the system actor, as the notification service does.

use axum::http::{Method, StatusCode};
use domain::actor::{Actor, Role};
use domain::ids::TaskId;
use domain::reminder::{reminder_stream_id, ReminderEvent, ReminderFailed, ReminderSent, ReminderSkipped, SkipReason};
use event_store::{AppendRequest, ExpectedVersion, NewEvent, StreamAppend, StreamId};
use serde_json::{json, Value};
use time::macros::datetime;
use uuid::Uuid;

use crate::support::{report_body, sqlite_app, TestApp};

fn approver(app: &TestApp) -> String {
    app.token(Role::Approver, "VP-UBND")
}

fn request_body() -> Value {
    json!({
        "cut_off": "2024-04-15",
        "due_on": "2024-04-18",
        "units": ["so-khcn", "SO-TC"],
        "basis": ["Công văn số 1941/UBND-TH ngày 05/04/2024"],
        "note": "Báo cáo kết quả thực hiện đến 15/4/2024"
    })
}

async fn report_requests(app: &TestApp, plan_id: &str) -> Vec<Value> {
    let answer =
        app.request(Method::GET, &format!("/v1/plans/{plan_id}/report-requests"), Some(&app.planner()), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_planner_requests_reports_as_of_a_cut_off_and_withdraws_the_request() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let uri = format!("/v1/plans/{plan_id}/report-requests");

    let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(request_body())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let request_id = answer.body["id"].as_str().unwrap().to_owned();
    assert_eq!(Uuid::parse_str(&request_id).unwrap().get_version_num(), 7);
    assert_eq!(answer.body["version"], 2, "the plan stream's version: created, then requested");
    assert_eq!(answer.headers["location"], uri.as_str());

    let requests = report_requests(&app, &plan_id).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["request_id"], request_id.as_str());
    assert_eq!(requests[0]["cut_off"], "2024-04-15");
    assert_eq!(requests[0]["due_on"], "2024-04-18");
    assert_eq!(requests[0]["units"], json!(["SO-KHCN", "SO-TC"]));
    assert_eq!(requests[0]["withdrawal_reason"], Value::Null);

    let withdrawal = format!("{uri}/{request_id}/withdrawal");
    let reason = json!({"reason": "Gộp vào báo cáo quý II"});
    let answer = app.request(Method::POST, &withdrawal, Some(&approver(&app)), Some(reason.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    assert_eq!(answer.body["id"], request_id.as_str());
    assert_eq!(report_requests(&app, &plan_id).await[0]["withdrawal_reason"], "Gộp vào báo cáo quý II");

    let again = app.request(Method::POST, &withdrawal, Some(&approver(&app)), Some(reason.clone())).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert!(again.body["detail"].as_str().unwrap().contains("already withdrawn"), "{:?}", again.body);
    let unknown = format!("{uri}/{}/withdrawal", Uuid::now_v7());
    let answer = app.request(Method::POST, &unknown, Some(&approver(&app)), Some(reason)).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);

    let history = app.request(Method::GET, &format!("/v1/plans/{plan_id}/history"), Some(&app.planner()), None).await;
    let types: Vec<&str> =
        history.body.as_array().unwrap().iter().map(|entry| entry["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["PlanCreated", "ReportRequested", "ReportRequestWithdrawn"]);
    assert_eq!(history.body[1]["reason"], "Báo cáo kết quả thực hiện đến 15/4/2024");
    assert_eq!(history.body[1]["basis"], json!(["Công văn số 1941/UBND-TH ngày 05/04/2024"]));
    assert_eq!(history.body[2]["reason"], "Gộp vào báo cáo quý II");
}

#[tokio::test]
async fn a_request_is_due_on_its_cut_off_unless_told_and_asks_every_lead_unit_without_units() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let uri = format!("/v1/plans/{plan_id}/report-requests");
    let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(json!({"cut_off": "2024-06-14"}))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let requests = report_requests(&app, &plan_id).await;
    assert_eq!(requests[0]["due_on"], "2024-06-14");
    assert_eq!(requests[0]["units"], json!([]));
    assert_eq!(requests[0]["basis"], json!([]));
    assert_eq!(requests[0]["note"], "");
}

#[tokio::test]
async fn a_bad_request_names_its_field_and_appends_nothing() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let uri = format!("/v1/plans/{plan_id}/report-requests");
    let head = app.head_position().await;
    let cases = [
        (json!({"cut_off": "15/04/2024"}), "cut_off"),
        (json!({"cut_off": "1999-12-31"}), "cut_off"),
        (json!({"cut_off": "2024-04-15", "due_on": "2024-04-14"}), "due_on"),
        (json!({"cut_off": "2024-04-15", "units": ["SO-KHCN", "so-khcn"]}), "units[1]"),
        (json!({"cut_off": "2024-04-15", "units": ["SỞ KHCN"]}), "units[0]"),
        (json!({"cut_off": "2024-04-15", "basis": ["không phải văn bản"]}), "basis[0]"),
    ];
    for (body, field) in cases {
        let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", answer.body);
        assert_eq!(answer.body["field"], field, "{body}: {:?}", answer.body);
    }
    let unknown_field = json!({"cut_off": "2024-04-15", "deadline": "2024-04-18"});
    let answer = app.request(Method::POST, &uri, Some(&app.planner()), Some(unknown_field)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", answer.body);

    let answer = app.request(Method::POST, &uri, Some(&app.reporter()), Some(request_body())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{:?}", answer.body);
    let answer = app.request(Method::POST, &uri, None, Some(request_body())).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let no_plan = format!("/v1/plans/{}/report-requests", Uuid::now_v7());
    let answer = app.request(Method::POST, &no_plan, Some(&app.planner()), Some(request_body())).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);
    assert_eq!(app.head_position().await, head, "nothing refused is appended");
}

#[tokio::test]
async fn a_report_request_replays_by_idempotency_key_and_checks_if_match() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let uri = format!("/v1/plans/{plan_id}/report-requests");
    let token = app.planner();
    let key = Uuid::now_v7().to_string();
    let body = request_body().to_string().into_bytes();
    let first = app.send(Method::POST, &uri, Some(&token), Some(body.clone()), &[("idempotency-key", &key)]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let head = app.head_position().await;
    let second = app.send(Method::POST, &uri, Some(&token), Some(body.clone()), &[("idempotency-key", &key)]).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.body, first.body, "a replay answers the first request's id");
    assert_eq!(app.head_position().await, head);

    let stale = app.send(Method::POST, &uri, Some(&token), Some(body.clone()), &[("if-match", "\"1\"")]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{:?}", stale.body);
    let current = app.send(Method::POST, &uri, Some(&token), Some(body), &[("if-match", "\"2\"")]).await;
    assert_eq!(current.status, StatusCode::CREATED, "{:?}", current.body);
    assert_eq!(report_requests(&app, &plan_id).await.len(), 2);
}

#[tokio::test]
async fn the_openapi_document_has_the_report_request_routes() {
    let app = sqlite_app().await;
    let answer = app.request(Method::GET, "/openapi.json", None, None).await;
    let paths = &answer.body["paths"];
    assert!(paths["/v1/plans/{plan_id}/report-requests"]["post"].is_object(), "{paths}");
    assert!(paths["/v1/plans/{plan_id}/report-requests"]["get"].is_object(), "{paths}");
    assert!(paths["/v1/plans/{plan_id}/report-requests/{request_id}/withdrawal"]["post"].is_object(), "{paths}");
    let schema = &answer.body["components"]["schemas"]["ReportRequestBody"];
    assert_eq!(schema["required"], json!(["cut_off"]), "{schema}");
}

/// The notification service's own append: the reminder stream of the task, any version, the system actor.
async fn append_reminders(app: &TestApp, task_id: &str, events: &[ReminderEvent]) {
    let task_id = TaskId(Uuid::parse_str(task_id).unwrap());
    let system = Actor::notification_service();
    let stream_id = StreamId(reminder_stream_id(task_id));
    let events = events
        .iter()
        .map(|event| {
            let mut tagged = serde_json::to_value(event).unwrap();
            NewEvent {
                event_id: Uuid::now_v7(),
                event_type: event.event_type().to_owned(),
                schema_version: domain::task::SCHEMA_VERSION,
                effective_date: None,
                payload: tagged["payload"].take(),
            }
        })
        .collect();
    app.store
        .append(AppendRequest {
            command_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: event_store::Actor {
                id: system.id,
                name: system.name,
                unit: system.unit.into_string(),
                role: system.role.as_str().to_owned(),
            },
            idempotency: None,
            subject_id: stream_id.0.clone(),
            subject_stream: stream_id.clone(),
            streams: vec![StreamAppend { stream_id, expected_version: ExpectedVersion::Any, events }],
        })
        .await
        .expect("the reminder events are appended");
}

fn sent(occurrence_key: &str) -> ReminderEvent {
    ReminderEvent::ReminderSent(ReminderSent {
        occurrence_key: occurrence_key.to_owned(),
        rule: "deadline-7-days".to_owned(),
        kind: "deadline_approaching".to_owned(),
        channel: "email".to_owned(),
        recipient: "SO-KHCN".to_owned(),
        address: "vanthu@skhcn.bacgiang.gov.vn".to_owned(),
        attempt: 1,
        late: false,
        digest: false,
        due_at: datetime!(2024-11-23 08:00 +07:00),
        detail: "Nhiệm vụ 1 sắp đến hạn (Tháng 11/2024)".to_owned(),
    })
}

fn failed() -> ReminderEvent {
    ReminderEvent::ReminderFailed(ReminderFailed {
        occurrence_key: "deadline-due".to_owned(),
        rule: "deadline-due-today".to_owned(),
        kind: "due_today".to_owned(),
        channel: "webhook".to_owned(),
        recipient: "SO-KHCN".to_owned(),
        address: "https://skhcn.example.vn/hooks".to_owned(),
        attempt: 2,
        error: "HTTP 503".to_owned(),
        permanent: false,
        retry_at: Some(datetime!(2024-11-30 01:05 UTC)),
        dead_lettered: false,
        due_at: datetime!(2024-11-30 08:00 +07:00),
    })
}

fn skipped() -> ReminderEvent {
    ReminderEvent::ReminderSkipped(ReminderSkipped {
        occurrence_key: "report-due".to_owned(),
        rule: "report-due-3-days".to_owned(),
        kind: "report_due".to_owned(),
        recipient: Some("SO-KHCN".to_owned()),
        reason: SkipReason::ReportFiled,
        detail: String::new(),
        due_at: datetime!(2024-04-12 08:00 +07:00),
    })
}

#[tokio::test]
async fn a_task_s_history_holds_its_reminder_log_in_log_order() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    append_reminders(&app, &task_id, &[sent("deadline-7")]).await;
    assert_eq!(app.file_report(&task_id, "2024-04-15", "Đã khảo sát 25/25").await.status, StatusCode::CREATED);
    append_reminders(&app, &task_id, &[failed(), skipped()]).await;

    let answer = app.request(Method::GET, &format!("/v1/tasks/{task_id}/history"), Some(&app.planner()), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let entries = answer.body.as_array().unwrap();
    let types: Vec<&str> = entries.iter().map(|entry| entry["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["TaskAssigned", "ReminderSent", "ProgressReported", "ReminderFailed", "ReminderSkipped"]);
    let positions: Vec<u64> = entries.iter().map(|entry| entry["position"].as_u64().unwrap()).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{positions:?}");

    let sent = &entries[1];
    assert_eq!(sent["stream_id"], format!("reminders-{task_id}"));
    assert_eq!(sent["task_id"], task_id.as_str());
    assert_eq!(
        sent["actor"],
        json!({"id": "notification-service", "name": "Dịch vụ nhắc việc", "unit": "HE-THONG", "role": "system"})
    );
    assert_eq!(sent["summary"], "Đã nhắc hạn sắp đến qua email tới SO-KHCN (lần 1)");
    assert_eq!(sent["payload"]["due_at"], "2024-11-23T08:00:00+07:00");
    let failed = &entries[3];
    assert_eq!(failed["reason"], "HTTP 503");
    assert_eq!(
        failed["summary"],
        "Không gửi được nhắc hạn hôm nay qua webhook tới SO-KHCN (lần 2): HTTP 503; sẽ thử lại lúc 2024-11-30T08:05:00+07:00"
    );
    let skipped = &entries[4];
    assert_eq!(skipped["reason"], "report_filed");
    assert_eq!(skipped["summary"], "Không nhắc hạn báo cáo tới SO-KHCN: đã có báo cáo");
    assert_eq!(entries[2]["summary"], Value::Null, "the task's own events say what they are");

    let csv =
        app.request(Method::GET, &format!("/v1/tasks/{task_id}/history?format=csv"), Some(&app.planner()), None).await;
    let text = csv.body.as_str().unwrap();
    assert!(text.lines().next().unwrap().ends_with(",hash,summary"), "{text}");
    assert_eq!(text.lines().count(), 1 + 5, "{text}");
    assert!(text.contains("Không nhắc hạn báo cáo tới SO-KHCN: đã có báo cáo"), "{text}");

    let plan_history =
        app.request(Method::GET, &format!("/v1/plans/{plan_id}/history"), Some(&app.planner()), None).await;
    let n_reminders = plan_history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["stream_id"].as_str().unwrap().starts_with("reminders-"))
        .count();
    assert_eq!(n_reminders, 3, "the plan's history holds its tasks' reminder logs");
}

#[tokio::test]
async fn reminders_leave_the_task_s_version_alone() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    assert_eq!(app.file_report(&task_id, "2024-04-15", "Lần 1").await.status, StatusCode::CREATED);
    append_reminders(&app, &task_id, &[sent("deadline-7"), skipped()]).await;

    let task = app.request(Method::GET, &format!("/v1/tasks/{task_id}"), Some(&app.planner()), None).await;
    assert_eq!(task.body["task"]["version"], 2, "{:?}", task.body);
    let body = report_body("2024-04-16", "Lần 2").to_string().into_bytes();
    let uri = format!("/v1/tasks/{task_id}/reports");
    let answer = app.send(Method::POST, &uri, Some(&app.reporter()), Some(body), &[("if-match", "\"2\"")]).await;
    assert_eq!(answer.status, StatusCode::CREATED, "a client's If-Match still holds: {:?}", answer.body);
    let (cached, stored) = app.cached_and_stored_task(&task_id).await;
    assert_eq!(cached, stored);
    assert_eq!(stored.version, 3);
}

#[tokio::test]
async fn the_audit_search_finds_reminders_by_aggregate_type_and_task() {
    let app = sqlite_app().await;
    let plan_id = app.create_plan().await;
    let task_id = app.assign_task(&plan_id).await;
    append_reminders(&app, &task_id, &[sent("deadline-7"), failed(), skipped()]).await;
    let auditor = app.token(Role::Auditor, "TTR-TINH");

    let search = |query: String| {
        let app = &app;
        let auditor = auditor.clone();
        async move {
            let answer = app.request(Method::GET, &format!("/v1/audit/events?{query}"), Some(&auditor), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{query}: {:?}", answer.body);
            let events = answer.body["events"].as_array().unwrap().clone();
            events.iter().map(|event| event["event_type"].as_str().unwrap().to_owned()).collect::<Vec<String>>()
        }
    };
    assert_eq!(search("aggregate=reminders".to_owned()).await, ["ReminderSent", "ReminderFailed", "ReminderSkipped"]);
    assert_eq!(search("event_type=ReminderSkipped".to_owned()).await, ["ReminderSkipped"]);
    assert_eq!(
        search(format!("task_id={task_id}&actor=notification-service")).await,
        ["ReminderSent", "ReminderFailed", "ReminderSkipped"]
    );
    assert_eq!(search(format!("task_id={task_id}&aggregate=task")).await, ["TaskAssigned"]);
    assert_eq!(search("aggregate=plan".to_owned()).await, ["PlanCreated", "TaskRegistered"]);

    let answer = app.request(Method::GET, "/v1/audit/events?aggregate=reminder", Some(&auditor), None).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", answer.body);
    assert_eq!(answer.body["field"], "aggregate");
}
