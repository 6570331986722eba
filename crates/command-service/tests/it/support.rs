//! The test application: a router over a real store, tokens for each role, and request helpers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use command_service::ledger::Ledger;
use command_service::{AppState, ServiceConfig};
use domain::actor::{Actor, Role};
use domain::ids::TaskId;
use domain::task::Task;
use domain::unit_code::UnitCode;
use event_store::EventStore;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Arc<dyn EventStore>,
    _dir: Option<tempfile::TempDir>,
    database: Option<event_store_postgres::testing::TestDatabase>,
}

/// What a request answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

pub async fn sqlite_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        event_store_sqlite::SqliteEventStore::open(&dir.path().join("taskledger.db")).await.expect("open sqlite store");
    app(Arc::new(store), Some(dir))
}

pub async fn postgres_app() -> TestApp {
    let (store, database) = event_store_postgres::testing::fresh_store().await;
    let mut app = app(Arc::new(store), None);
    app.database = Some(database);
    app
}

fn app(store: Arc<dyn EventStore>, dir: Option<tempfile::TempDir>) -> TestApp {
    let state = AppState::new(store.clone(), auth::TokenKey::generate(), ServiceConfig::default());
    TestApp { router: command_service::router(state.clone()), state, store, _dir: dir, database: None }
}

impl TestApp {
    /// Drops the PostgreSQL test database, if the app has one.
    pub async fn teardown(self) {
        if let Some(database) = self.database {
            database.drop_database().await;
        }
    }

    /// Another command service over the same store with the same token key, as a second process would be: it has
    /// a cache of its own. The original keeps the store's files.
    pub fn other_process(&self) -> TestApp {
        let state = AppState {
            ledger: Ledger::new(self.store.clone()),
            plans: Default::default(),
            histories: Default::default(),
            ..self.state.clone()
        };
        TestApp {
            router: command_service::router(state.clone()),
            state,
            store: self.store.clone(),
            _dir: None,
            database: None,
        }
    }

    /// The task as this process's command path holds it, beside a fold of the store by a fresh ledger.
    pub async fn cached_and_stored_task(&self, task_id: &str) -> (Task, Task) {
        let task_id = TaskId(uuid::Uuid::parse_str(task_id).unwrap());
        let cached = self.state.ledger.current_task(task_id).await.unwrap().expect("the task exists");
        let stored = Ledger::new(self.store.clone()).current_task(task_id).await.unwrap().expect("the task exists");
        (Arc::unwrap_or_clone(cached), Arc::unwrap_or_clone(stored))
    }

    pub fn token(&self, role: Role, unit: &str) -> String {
        let actor = Actor {
            id: format!("{role}.{}", unit.to_lowercase()),
            name: format!("Cán bộ {unit}"),
            unit: UnitCode::parse(unit).unwrap(),
            role,
        };
        auth::mint(&self.state.token_key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(1)).unwrap()
    }

    pub fn planner(&self) -> String {
        self.token(Role::Planner, "VP-UBND")
    }

    pub fn reporter(&self) -> String {
        self.token(Role::Reporter, "SO-KHCN")
    }

    pub async fn request(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        self.send(method, uri, token, body.map(|value| value.to_string().into_bytes()), &[]).await
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        extra_headers: &[(&str, &str)],
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let has_content_type = extra_headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_content_type {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in extra_headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer { status, headers, body }
    }

    pub async fn head_position(&self) -> u64 {
        self.store.head().await.unwrap().position
    }

    /// Creates a plan with sections I and II and answers its id.
    pub async fn create_plan(&self) -> String {
        let answer = self.request(Method::POST, "/v1/plans", Some(&self.planner()), Some(plan_body())).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    /// Assigns task I.1 to SO-KHCN with a deadline in November 2024 and answers its id.
    pub async fn assign_task(&self, plan_id: &str) -> String {
        let answer = self
            .request(Method::POST, &format!("/v1/plans/{plan_id}/tasks"), Some(&self.planner()), Some(task_body("1")))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn file_report(&self, task_id: &str, as_of: &str, summary: &str) -> Answer {
        self.request(
            Method::POST,
            &format!("/v1/tasks/{task_id}/reports"),
            Some(&self.reporter()),
            Some(report_body(as_of, summary)),
        )
        .await
    }
}

pub fn plan_body() -> Value {
    json!({
        "agency": "SO-KHCN",
        "year": 2024,
        "title": "Nhiệm vụ trọng tâm năm 2024",
        "basis": ["QĐ số 184/QĐ-UBND ngày 24/01/2024"],
        "sections": [{"code": "I", "title": "NHIỆM VỤ TRỌNG TÂM"}, {"code": "II", "title": "NHIỆM VỤ CHẤP THUẬN"}]
    })
}

pub fn task_body(number: &str) -> Value {
    json!({
        "section": "I",
        "number": number,
        "title": "Hỗ trợ 03 doanh nghiệp áp dụng chương trình đảm bảo đo lường",
        "target": {"quantity": 3, "unit": "doanh nghiệp", "text": "03 doanh nghiệp được hỗ trợ"},
        "deadline": "2024-11",
        "lead_unit": "SO-KHCN",
        "coordinating_units": ["SO-TC"],
        "basis": ["Kế hoạch số 409/KH-UBND ngày 30/8/2021"]
    })
}

pub fn report_body(as_of: &str, summary: &str) -> Value {
    json!({
        "as_of": as_of,
        "summary": summary,
        "measures": [{"label": "Doanh nghiệp đã khảo sát", "achieved": 25, "target": 25, "unit": "doanh nghiệp"}],
        "progress": "in_progress",
        "evidence": ["Kế hoạch số 23/KH-KHCN ngày 24/01/2024"]
    })
}
